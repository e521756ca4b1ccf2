// Machine::snapshot and Machine::restore: a restored machine is indistinguishable from the
// one the snapshot was taken of, and a snapshot that does not fit the spec is refused at the
// field that is wrong.
#include <algorithm>
#include <functional>

#include "no_effect.h"

using namespace coretest;

namespace {

// The default machine with a DIMM (blocks 136-139, node 0), a virtio-mem device (blocks
// 264-279, node 1, 256 MiB units), memmap_on_memory, hwpoison support and a slow block.
MachineSpec rich_spec() {
    MachineSpec spec = default_machine_spec();
    spec.devices = {dimm("dimm0", 17 * GiB, 4 * kBlock),
                    virtio("vmem0", 33 * GiB, 2 * GiB, 2 * kBlock, 2 * kBlock, 1)};
    spec.params.memmap_on_memory = MemmapOnMemory::Yes;
    spec.params.memory_failure = true;
    spec.block_faults = {BlockFaultSpec{35, 500, false}};
    return spec;
}

Machine restored(const MachineSpec& spec, const Machine& m) {
    auto r = Machine::restore(spec, m.snapshot());
    INFO("restore error: " << (r.ok() ? std::string() : r.error().field + ": " +
                                                          r.error().message));
    REQUIRE(r.ok());
    return std::move(r.value());
}

void check_same_blocks(const Machine& a, const Machine& b) {
    REQUIRE(a.blocks().capacity() == b.blocks().capacity());
    CHECK(a.blocks().count() == b.blocks().count());
    for (uint64_t id = 0; id < a.blocks().capacity(); ++id) {
        INFO("block " << id);
        REQUIRE(a.blocks().present(id) == b.blocks().present(id));
        if (!a.blocks().present(id)) continue;
        const Block &x = a.blocks().at(id), &y = b.blocks().at(id);
        CHECK(x.block_state() == y.block_state());
        CHECK(x.zone == y.zone);
        CHECK(x.node == y.node);
        CHECK((x.holes == y.holes && x.unmovable == y.unmovable));
        CHECK((x.hotplugged == y.hotplugged && x.memmap == y.memmap));
        CHECK(a.valid_zones(id) == b.valid_zones(id));
        CHECK(a.block_fault(id).migration_ms == b.block_fault(id).migration_ms);
        CHECK(a.block_fault(id).poisoned_pages == b.block_fault(id).poisoned_pages);
        CHECK(a.memmap_pages(id) == b.memmap_pages(id));
    }
}

void check_same_nodes(const Machine& a, const Machine& b) {
    REQUIRE(a.nodes().size() == b.nodes().size());
    for (int n = 0; n < static_cast<int>(a.nodes().size()); ++n) {
        INFO("node " << n);
        for (int z = 0; z < kZoneCount; ++z) {
            INFO("zone " << z);
            const ZoneSpan &x = span(a, n, static_cast<Zone>(z)), &y = span(b, n, static_cast<Zone>(z));
            CHECK(x.start_pfn == y.start_pfn);
            CHECK(x.end_pfn == y.end_pfn);
            CHECK(x.present_pages == y.present_pages);
        }
        CHECK(a.nodes()[n].early_kernel_pages == b.nodes()[n].early_kernel_pages);
        CHECK(a.nodes()[n].memmap_pages == b.nodes()[n].memmap_pages);
        CHECK(a.node_present_pages(n) == b.node_present_pages(n));
        CHECK(a.node_managed_pages(n) == b.node_managed_pages(n));
        CHECK(a.node_has_normal_memory(n) == b.node_has_normal_memory(n));
    }
}

void check_same(const Machine& a, const Machine& b) {
    check_same_blocks(a, b);
    check_same_nodes(a, b);
    REQUIRE(a.devices().size() == b.devices().size());
    for (size_t i = 0; i < a.devices().size(); ++i) {
        CHECK(a.devices()[i].spec.name == b.devices()[i].spec.name);
        CHECK(a.devices()[i].plugged == b.devices()[i].plugged);
        CHECK(a.devices()[i].added == b.devices()[i].added);
        CHECK(a.devices()[i].spec == b.devices()[i].spec);
        CHECK(a.devices()[i].present_kernel_pages == b.devices()[i].present_kernel_pages);
        CHECK(a.devices()[i].present_movable_pages == b.devices()[i].present_movable_pages);
    }
    CHECK(a.params().auto_online_blocks == b.params().auto_online_blocks);
    CHECK(a.params().online_policy == b.params().online_policy);
    CHECK(a.params().auto_movable_ratio == b.params().auto_movable_ratio);
    CHECK(a.params().auto_movable_numa_aware == b.params().auto_movable_numa_aware);
    for (auto act : {NotifierAction::GoingOnline, NotifierAction::GoingOffline})
        CHECK(a.notifier_error(act) == b.notifier_error(act));
    CHECK(a.notifier_priority() == b.notifier_priority());
    CHECK(a.poisoned_pages() == b.poisoned_pages());
    CHECK(a.soft_offlined_pages() == b.soft_offlined_pages());
    CHECK(a.last_seqnum() == b.last_seqnum());
    CHECK(a.snapshot() == b.snapshot());
}

// The same operation on both machines has the same outcome: errno, events (with their
// SEQNUMs) and changes.
void check_same_next(Machine& a, Machine& b, const std::function<Outcome(Machine&)>& op) {
    const Outcome x = op(a), y = op(b);
    CHECK(x.error.code == y.error.code);
    REQUIRE(x.events.size() == y.events.size());
    for (size_t i = 0; i < x.events.size(); ++i) {
        CHECK(x.events[i].action == y.events[i].action);
        CHECK(x.events[i].devpath == y.events[i].devpath);
        CHECK(x.events[i].seqnum == y.events[i].seqnum);
    }
    CHECK(x.changes.blocks == y.changes.blocks);
    CHECK(x.changes.valid_zones == y.changes.valid_zones);
    CHECK(x.changes.nodes == y.changes.nodes);
    check_same(a, b);
}

Error restore_error(const MachineSpec& spec, const MachineSnapshot& snap) {
    auto r = Machine::restore(spec, snap);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EINVAL);
    CHECK_FALSE(r.error().message.empty());
    return r.error();
}

}  // namespace

TEST_CASE("a freshly built machine restores to itself", "[snapshot]") {
    MachineSpec s390 = reference_spec();
    s390.arch = Arch::S390x;
    s390.block_size = 256 * MiB;
    s390.memory = {boot(0, 4 * GiB)};
    for (const MachineSpec& spec : {default_machine_spec(), reference_spec(), rich_spec(), s390}) {
        const Machine m = make(spec);
        const Machine r = restored(spec, m);
        check_same(m, r);
    }
}

TEST_CASE("blocks and parameters survive a restore", "[snapshot]") {
    const MachineSpec spec = default_machine_spec();
    Machine m = make(spec);
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    REQUIRE(m.set_state(73, OnlineType::OnlineKernel).ok());
    REQUIRE(m.set_state(104, OnlineType::Online).ok());
    REQUIRE(m.set_state(5, OnlineType::Offline).ok());
    REQUIRE(m.set_state(39, OnlineType::Offline).ok());  // the top of node 0's Normal span
    REQUIRE(m.probe(17 * GiB).ok());
    REQUIRE(m.probe(33 * GiB).ok());
    REQUIRE(m.add_memory(18 * GiB, 4 * kBlock, 1).ok());
    REQUIRE(m.remove_memory(18 * GiB + kBlock, kBlock).ok());
    REQUIRE(m.set_auto_online_blocks(OnlineType::OnlineMovable).ok());
    REQUIRE(m.probe(20 * GiB).ok());  // auto-onlined
    REQUIRE(m.set_online_policy(OnlinePolicy::AutoMovable).ok());
    REQUIRE(m.set_auto_movable_ratio(150).ok());
    REQUIRE(m.set_auto_movable_numa_aware(false).ok());
    REQUIRE(m.set_demotion_enabled(true).ok());
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOffline, -EBUSY).ok());
    REQUIRE(m.set_notifier_priority(-3).ok());
    REQUIRE(m.synthetic_uevent(devpath(72), "change", {{"SYNTH_UUID", "0"}}).ok());
    REQUIRE(m.set_block_fault(40, BlockFault{-1, 0}, true).ok());
    REQUIRE(m.last_seqnum() > 0);

    Machine r = restored(spec, m);
    check_same(m, r);
    CHECK(r.demotion_enabled());
    // The next event continues the sequence on both.
    check_same_next(m, r, [](Machine& x) { return x.set_state(74, OnlineType::Online); });
    CHECK(m.last_seqnum() == r.last_seqnum());
    check_same_next(m, r, [](Machine& x) { return x.set_state(73, OnlineType::Offline); });
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOffline, 0).ok());
    REQUIRE(r.set_notifier_error(NotifierAction::GoingOffline, 0).ok());
    check_same_next(m, r, [](Machine& x) { return x.set_state(72, OnlineType::Offline); });
    check_same_next(m, r, [](Machine& x) { return x.probe(21 * GiB); });
    check_same_next(m, r, [](Machine& x) { return x.remove_memory(17 * GiB, kBlock); });
}

TEST_CASE("devices, faults and poison survive a restore", "[snapshot]") {
    const MachineSpec spec = rich_spec();
    Machine m = make(spec);
    REQUIRE(m.set_online_policy(OnlinePolicy::AutoMovable).ok());
    REQUIRE(m.set_auto_online_blocks(OnlineType::Online).ok());
    REQUIRE(m.plug_device("dimm0").ok());
    REQUIRE(m.resize_device("vmem0", 6 * kBlock).ok());
    REQUIRE(m.resize_device("vmem0", 4 * kBlock).ok());
    REQUIRE(m.set_state(266, OnlineType::Offline).ok());
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    REQUIRE(m.hard_offline_page(72 * kBlock + 5 * kPageSize).ok());
    REQUIRE(m.soft_offline_page(72 * kBlock + 9 * kPageSize).ok());
    REQUIRE(m.soft_offline_page(137 * kBlock).ok());
    REQUIRE(m.set_block_fault(136, BlockFault{-1, 0}, false).ok());
    REQUIRE(m.set_block_fault(73, BlockFault{0, 0}, true).ok());
    // A slow offline in progress: the block reads going-offline.
    Outcome slow = m.set_state(35, OnlineType::Offline);
    REQUIRE(slow.pending_offline_ms.has_value());

    Machine r = restored(spec, m);
    check_same(m, r);
    CHECK(r.blocks().at(35).block_state() == BlockState::GoingOffline);
    CHECK(r.poisoned_pages() == 3);
    CHECK(r.soft_offlined_pages() == 2);
    check_same_next(m, r, [](Machine& x) { return x.finish_offline(35); });
    check_same_next(m, r, [](Machine& x) { return x.set_state(72, OnlineType::Offline); });
    check_same_next(m, r, [](Machine& x) { return x.set_state(72, OnlineType::Online); });
    check_same_next(m, r, [](Machine& x) { return x.unplug_device("dimm0"); });
    check_same_next(m, r, [](Machine& x) { return x.resize_device("vmem0", 8 * kBlock); });
    check_same_next(m, r, [](Machine& x) { return x.unplug_device("vmem0"); });
    check_same_next(m, r, [](Machine& x) { return x.hard_offline_page(73 * kBlock); });
    check_same_next(m, r, [](Machine& x) { return x.set_state(73, OnlineType::Offline); });
}

TEST_CASE("devices added at runtime survive a restore", "[snapshot]") {
    const MachineSpec spec = rich_spec();
    Machine m = make(spec);
    REQUIRE(m.set_auto_online_blocks(OnlineType::OnlineMovable).ok());
    NewDevice dimm;
    dimm.name = "dimm7";
    dimm.node = 1;
    dimm.size = 1ull << 30;
    REQUIRE(m.create_device(dimm).ok());
    NewDevice vmem = dimm;
    vmem.name = "virtio-mem0";
    vmem.kind = DeviceKind::VirtioMem;
    vmem.node = 0;
    vmem.requested = 4 * kBlock;
    REQUIRE(m.create_device(vmem).ok());

    const MachineSnapshot snap = m.snapshot();
    REQUIRE(snap.devices.size() == spec.devices.size() + 2);
    CHECK_FALSE(snap.devices.front().added.has_value());
    REQUIRE(snap.devices.back().added.has_value());
    CHECK(snap.devices.back().added->kind == DeviceKind::VirtioMem);

    Machine r = restored(spec, m);
    check_same(m, r);
    check_same_next(m, r, [](Machine& x) { return x.resize_device("virtio-mem0", 8 * kBlock); });
    check_same_next(m, r, [](Machine& x) { return x.unplug_device("dimm7"); });
    check_same_next(m, r, [&](Machine& x) { return x.create_device(dimm); });

    // A runtime device that is not marked as one, or overlaps another, is refused at its field.
    MachineSnapshot bad = snap;
    bad.devices.back().added.reset();
    CHECK(restore_error(spec, bad).field ==
          "/devices/" + std::to_string(snap.devices.size() - 1) + "/name");
    bad = snap;
    bad.devices.back().added->start = bad.devices[bad.devices.size() - 2].added->start;
    CHECK(restore_error(spec, bad).field == "/devices/" + std::to_string(snap.devices.size() - 1));
    bad = snap;
    bad.devices.front().added = bad.devices.back().added;
    CHECK(restore_error(spec, bad).field == "/devices/0/added");
}

TEST_CASE("blocks are kept as runs of equal blocks", "[snapshot]") {
    Machine m = default_machine();
    const MachineSnapshot fresh = m.snapshot();
    // Block 0 (none), 1-23 DMA32, 32-39 Normal node 0, 40-71 node 1, 72-103, 104-135.
    REQUIRE(fresh.blocks.size() == 6);
    CHECK(fresh.blocks[0].multi_zone);
    CHECK(fresh.blocks[1].first == 1);
    CHECK(fresh.blocks[1].count == 23);
    CHECK(fresh.blocks[1].zone == Zone::DMA32);
    CHECK(fresh.blocks[4].state == BlockState::Offline);
    CHECK_FALSE(fresh.blocks[4].zone.has_value());
    REQUIRE(m.set_state(80, OnlineType::OnlineMovable).ok());
    CHECK(m.snapshot().blocks.size() == 8);  // 72-79, 80, 81-103
}

TEST_CASE("a snapshot of another machine is refused", "[snapshot]") {
    const MachineSpec spec = default_machine_spec();
    const MachineSnapshot good = make(spec).snapshot();

    MachineSpec other = spec;
    other.block_size = 256 * MiB;
    CHECK(restore_error(other, good).field == "/block_size");
    other = spec;
    other.arch = Arch::Arm64;
    CHECK(restore_error(other, good).field == "/arch");
    other = spec;
    other.nodes.pop_back();
    other.nodes[0].distance.clear();
    for (auto& r : other.memory) r.node = 0;
    for (auto& r : other.pluggable) r.node = 0;
    CHECK(restore_error(other, good).field == "/nodes");
    other = spec;
    other.params.probe = false;
    CHECK(restore_error(other, good).field == "/params/probe");
    other = rich_spec();
    other.params = spec.params;
    CHECK(restore_error(other, good).field == "/devices");

    MachineSnapshot bad = good;
    bad.blocks.push_back(BlockRun{60 * GiB / kBlock, 1, 0, BlockState::Offline, {}, false});
    CHECK(restore_error(spec, bad).field == "/blocks/6");
}

TEST_CASE("a malformed snapshot is refused at the wrong field", "[snapshot]") {
    const MachineSpec spec = rich_spec();
    const MachineSnapshot good = make(spec).snapshot();
    auto field_of = [&](const std::function<void(MachineSnapshot&)>& edit) {
        MachineSnapshot s = good;
        edit(s);
        return restore_error(spec, s).field;
    };
    CHECK(field_of([](auto& s) { s.blocks[2].count = 0; }) == "/blocks/2/count");
    CHECK(field_of([](auto& s) { s.blocks[2].first = 20; }) == "/blocks/2/first");
    CHECK(field_of([](auto& s) { s.blocks[2].node = 7; }) == "/blocks/2/node");
    CHECK(field_of([](auto& s) { s.blocks[2].zone.reset(); }) == "/blocks/2/zone");
    CHECK(field_of([](auto& s) { s.blocks[4].zone = Zone::Normal; }) == "/blocks/4/zone");
    CHECK(field_of([](auto& s) { s.devices[0].name = "dimm9"; }) == "/devices/0/name");
    CHECK(field_of([](auto& s) { s.devices[0].plugged = kBlock; }) == "/devices/0/plugged");
    CHECK(field_of([](auto& s) { s.devices[1].plugged = 4 * kBlock; }) == "/devices/1/plugged");
    CHECK(field_of([](auto& s) { s.faults.going_online_error = 5; }) ==
          "/faults/going_online_error");
    CHECK(field_of([](auto& s) { s.faults.migration.push_back({30, 10}); }) ==
          "/faults/migration/1/block");
    CHECK(field_of([](auto& s) { s.faults.migration[0].ms = -2; }) == "/faults/migration/0/ms");
    CHECK(field_of([](auto& s) { s.faults.poisoned_pfns.push_back(30 * kPagesPerBlock); }) ==
          "/faults/poisoned_pfns/0");
    CHECK(field_of([](auto& s) { s.params.memory_failure = false; }) == "/params/memory_failure");
}

TEST_CASE("changes_since: a restore over a running machine, as a change set") {
    Machine m = Machine::build(hotplug::default_machine_spec()).value();
    const Machine before = Machine::restore(hotplug::default_machine_spec(), m.snapshot()).value();
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    NewDevice d;
    d.name = m.free_device_name(DeviceKind::Dimm);
    d.size = 1ull << 30;
    REQUIRE(m.create_device(d).ok());
    const uint64_t first_new = m.device(d.name)->spec.start / m.block_size();

    // From the changed machine back to `before`.
    const ChangeSet back = before.changes_since(m);
    CHECK(std::find(back.blocks.begin(), back.blocks.end(), 72) != back.blocks.end());
    CHECK(std::find(back.blocks.begin(), back.blocks.end(), 73) == back.blocks.end());
    CHECK(back.devices);
    CHECK(std::find(back.devices_before.begin(), back.devices_before.end(), d.name) !=
          back.devices_before.end());
    CHECK(back.added.empty());
    CHECK(back.all_valid_zones);
    CHECK(back.params);

    // And forward: the device's blocks come back as added ones if it had plugged any.
    const ChangeSet forward = m.changes_since(before);
    CHECK(forward.devices);
    CHECK(forward.devices_before.size() == before.devices().size());
    for (uint64_t id : forward.added) CHECK(id >= first_new);
    CHECK(forward.removed.empty());

    // Two equal machines: nothing moved but the derived views it cannot tell apart.
    const ChangeSet same = m.changes_since(m);
    CHECK(same.blocks.empty());
    CHECK(same.added.empty());
    CHECK(same.removed.empty());
    CHECK_FALSE(same.devices);
}
