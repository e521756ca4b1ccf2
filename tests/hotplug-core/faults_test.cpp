// Fault injection (§8: notifier errors) and hardware poisoning (§9).
#include "no_effect.h"

using namespace coretest;

namespace {

MachineSpec hwpoison_spec() {
    MachineSpec spec = default_machine_spec();
    spec.params.memory_failure = true;
    return spec;
}

constexpr uint64_t kPage = kPageSize;

}  // namespace

TEST_CASE("notifier errors accept 0 and -4095..-1 only", "[faults][notifier]") {
    Machine m = default_machine();
    CHECK(m.notifier_error(NotifierAction::GoingOnline) == 0);
    CHECK(m.notifier_error(NotifierAction::GoingOffline) == 0);
    const auto before = snapshot(m);
    for (int bad : {1, 12, -4096, -100000}) {
        INFO("error " << bad);
        check_no_effect(m, m.set_notifier_error(NotifierAction::GoingOnline, bad), EINVAL, before,
                        0);
        check_no_effect(m, m.set_notifier_error(NotifierAction::GoingOffline, bad), EINVAL, before,
                        0);
    }
    for (int good : {-1, -4095, -12, 0}) {
        Outcome o = m.set_notifier_error(NotifierAction::GoingOffline, good);
        REQUIRE(o.ok());
        CHECK(o.changes.params);
        CHECK(o.events.empty());
        CHECK(m.notifier_error(NotifierAction::GoingOffline) == good);
        CHECK(m.notifier_error(NotifierAction::GoingOnline) == 0);
    }
    Outcome p = m.set_notifier_priority(-7);
    REQUIRE(p.ok());
    CHECK(p.changes.params);
    CHECK(m.notifier_priority() == -7);
}

TEST_CASE("an armed MEM_GOING_ONLINE error fails every online with it", "[faults][notifier]") {
    Machine m = default_machine();
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOnline, -ENOMEM).ok());
    const auto before = snapshot(m);
    check_no_effect(m, m.set_state(72, OnlineType::Online), ENOMEM, before, 0);
    check_no_effect(m, m.set_state(72, OnlineType::OnlineMovable), ENOMEM, before, 0);
    check_no_effect(m, m.set_online(72, true), ENOMEM, before, 0);
    // Offlining is not affected.
    REQUIRE(m.set_state(5, OnlineType::Offline).ok());
    const auto after = snapshot(m);
    check_no_effect(m, m.set_online(5, true), ENOMEM, after, 1);

    // Auto-online during an add fails quietly: the add succeeds, the blocks stay offline.
    REQUIRE(m.set_auto_online_blocks(OnlineType::OnlineMovable).ok());
    Outcome add = m.add_memory(17 * GiB, 2 * kBlock, 0);
    REQUIRE(add.ok());
    CHECK(actions(add) == std::vector<std::string>{"add", "add"});
    CHECK_FALSE(is_online(m, 136));
    CHECK(add.changes.blocks.empty());

    // Disarmed: back to normal.
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOnline, 0).ok());
    CHECK(m.set_online(5, true).ok());
}

TEST_CASE("an armed MEM_GOING_OFFLINE error fails every offline with it", "[faults][notifier]") {
    Machine m = default_machine();
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOffline, -EIO).ok());
    const auto before = snapshot(m);
    check_no_effect(m, m.set_state(5, OnlineType::Offline), EIO, before, 0);
    check_no_effect(m, m.set_online(40, false), EIO, before, 0);
    // The EINVAL checks come first (block 0 spans two zones).
    check_no_effect(m, m.set_state(0, OnlineType::Offline), EINVAL, before, 0);
    // Onlining still works.
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    // A removal with an online block fails with the injected errno; offline ones go.
    const auto mid = snapshot(m);
    check_no_effect(m, m.remove_memory(9 * GiB, 2 * kBlock), EIO, mid, 1);
    REQUIRE(m.remove_memory(9 * GiB + kBlock, kBlock).ok());
}

TEST_CASE("unmovable pages are found before the notifier runs", "[faults][notifier]") {
    // offline_pages isolates the range (EBUSY on unmovable pages) before MEM_GOING_OFFLINE.
    MachineSpec spec = default_machine_spec();
    spec.unmovable = {45};
    Machine m = make(spec);
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOffline, -ENOMEM).ok());
    CHECK(m.set_state(45, OnlineType::Offline).error.code == EBUSY);
    CHECK(m.set_state(46, OnlineType::Offline).error.code == ENOMEM);
}

TEST_CASE("hwpoison files need memory_failure", "[faults][hwpoison]") {
    Machine m = default_machine();
    const auto before = snapshot(m);
    check_no_effect(m, m.soft_offline_page(5 * kBlock), EOPNOTSUPP, before, 0);
    check_no_effect(m, m.hard_offline_page(5 * kBlock), EOPNOTSUPP, before, 0);
    CHECK(m.poisoned_pages() == 0);
}

TEST_CASE("soft_offline_page: ENXIO, EIO, success", "[faults][hwpoison]") {
    Machine m = make(hwpoison_spec());
    const auto before = snapshot(m);
    check_no_effect(m, m.soft_offline_page(3 * GiB), ENXIO, before, 0);   // PCI hole
    check_no_effect(m, m.soft_offline_page(60 * GiB), ENXIO, before, 0);  // beyond memory
    check_no_effect(m, m.soft_offline_page(9 * GiB), EIO, before, 0);     // offline block 72
    CHECK(m.soft_offlined_pages() == 0);

    const uint64_t addr = 5 * kBlock + 3 * kPage + 17;  // any byte of a page
    Outcome o = m.soft_offline_page(addr);
    REQUIRE(o.ok());
    CHECK(o.events.empty());
    CHECK(o.changes.empty());
    CHECK(m.soft_offlined_pages() == 1);
    CHECK(m.poisoned_pages() == 1);
    CHECK(m.block_fault(5).poisoned_pages == 1);
    // The same page again: already poisoned, nothing to do, success.
    REQUIRE(m.soft_offline_page(5 * kBlock + 3 * kPage).ok());
    CHECK(m.soft_offlined_pages() == 1);
    // A soft-offlined page is marked poisoned: once offline, the block cannot come back.
    REQUIRE(m.set_state(5, OnlineType::Offline).ok());
    CHECK(m.set_state(5, OnlineType::OnlineKernel).error.code == EHWPOISON);
}

TEST_CASE("hard_offline_page poisons online pages once", "[faults][hwpoison]") {
    Machine m = make(hwpoison_spec());
    const auto before = snapshot(m);
    check_no_effect(m, m.hard_offline_page(3 * GiB), ENXIO, before, 0);
    // Offline memory is outside the kernel's control.
    check_no_effect(m, m.hard_offline_page(9 * GiB), ENXIO, before, 0);

    REQUIRE(m.hard_offline_page(40 * kBlock).ok());
    REQUIRE(m.hard_offline_page(40 * kBlock + kPage).ok());
    CHECK(m.block_fault(40).poisoned_pages == 2);
    CHECK(m.poisoned_pages() == 2);
    CHECK(m.soft_offlined_pages() == 0);
    // The same page twice: EHWPOISON, nothing counted.
    Outcome again = m.hard_offline_page(40 * kBlock + kPage + 100);
    CHECK(again.error.code == EHWPOISON);
    CHECK(again.events.empty());
    CHECK(m.poisoned_pages() == 2);
    // Soft offline of a hard-poisoned page: already poisoned, success, not counted.
    REQUIRE(m.soft_offline_page(40 * kBlock).ok());
    CHECK(m.soft_offlined_pages() == 0);
    // The block still reads online and still offlines.
    CHECK(is_online(m, 40));
    REQUIRE(m.set_state(40, OnlineType::Offline).ok());
}

TEST_CASE("a poisoned block cannot be onlined again: EHWPOISON", "[faults][hwpoison]") {
    Machine m = make(hwpoison_spec());
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    REQUIRE(m.hard_offline_page(9 * GiB + 5 * kPage).ok());
    REQUIRE(m.set_state(72, OnlineType::Offline).ok());
    const auto before = snapshot(m);
    const uint64_t seq = m.last_seqnum();
    for (OnlineType t : {OnlineType::Online, OnlineType::OnlineKernel, OnlineType::OnlineMovable})
        check_no_effect(m, m.set_state(72, t), EHWPOISON, before, seq);
    check_no_effect(m, m.set_online(72, true), EHWPOISON, before, seq);
    // The poison check comes before the notifier (memory_block_online order).
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOnline, -ENOMEM).ok());
    check_no_effect(m, m.set_online(72, true), EHWPOISON, before, seq);
    CHECK(m.set_online(73, true).error.code == ENOMEM);
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOnline, 0).ok());

    // Removing the block forgets its poison; plugged again it onlines.
    Outcome rm = m.remove_memory(9 * GiB, kBlock);
    REQUIRE(rm.ok());
    CHECK(m.poisoned_pages() == 0);
    CHECK(m.block_fault(72).poisoned_pages == 0);
    REQUIRE(m.probe(9 * GiB).ok());
    CHECK(m.set_online(72, true).ok());
}

TEST_CASE("auto-online skips poisoned blocks after an add", "[faults][hwpoison]") {
    // A DIMM unplug rollback onlines again; a block poisoned meanwhile stays offline.
    MachineSpec spec = hwpoison_spec();
    spec.devices = {dimm("dimm0", 17 * GiB, 4 * kBlock, 0, true)};  // blocks 136-139
    spec.block_faults = {BlockFaultSpec{139, 0, true}};             // unmovable: unplug fails
    Machine m = make(spec);
    for (uint64_t id = 136; id < 140; ++id)
        REQUIRE(m.set_state(id, OnlineType::OnlineMovable).ok());
    REQUIRE(m.hard_offline_page(137 * kBlock).ok());
    const uint64_t seq = m.last_seqnum();
    Outcome o = m.unplug_device("dimm0");
    CHECK(o.error.code == EBUSY);
    // 136, 137, 138 went offline; 139 failed; 136 and 138 came back, 137 could not.
    CHECK(actions(o) ==
          std::vector<std::string>{"offline", "offline", "offline", "online", "online"});
    CHECK(devpaths(o) == std::vector<std::string>{devpath(136), devpath(137), devpath(138),
                                                  devpath(136), devpath(138)});
    check_event_stream(o, seq);
    CHECK_FALSE(is_online(m, 137));
    CHECK(is_online(m, 136));
    CHECK(m.device("dimm0")->plugged == 4 * kBlock);
}
