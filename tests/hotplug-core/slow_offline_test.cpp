// Offlining that takes time (§4): going-offline, finish_offline, abort_offline, EBUSY while
// pending, and removals, which do not wait.
#include "no_effect.h"

using namespace coretest;

namespace {

// The default machine with a 500 ms migration on boot block 35 (node 0 Normal), a migration
// that never finishes on 50 (node 1) and one on hot-added block 72 (offline at start).
MachineSpec slow_spec() {
    MachineSpec spec = default_machine_spec();
    spec.block_faults = {BlockFaultSpec{35, 500, false}, BlockFaultSpec{50, -1, false},
                         BlockFaultSpec{72, 20, false}};
    return spec;
}

}  // namespace

TEST_CASE("an offline with a migration delay goes going-offline and waits", "[slow]") {
    Machine m = make(slow_spec());
    CHECK(m.block_fault(35).migration_ms == 500);
    CHECK(m.block_fault(36).migration_ms == 0);
    const uint64_t present = m.node_present_pages(0);

    Outcome o = m.set_state(35, OnlineType::Offline);
    REQUIRE(o.ok());
    CHECK(o.events.empty());  // no uevent until it completes
    REQUIRE(o.pending_offline_ms.has_value());
    CHECK(*o.pending_offline_ms == 500);
    CHECK(o.pending_block == 35);
    CHECK(o.changes.blocks == std::vector<uint64_t>{35});
    CHECK(o.changes.nodes.empty());
    CHECK(m.last_seqnum() == 0);

    const Block& b = m.blocks().at(35);
    CHECK(b.block_state() == BlockState::GoingOffline);
    CHECK(block_state_name(b.block_state()) == "going-offline");
    CHECK(b.online());  // `online` reads 1
    CHECK(b.single_zone() == Zone::Normal);
    // valid_zones computes as for an offline block: inside Normal's span -> Normal first.
    CHECK(m.valid_zones(35) == "Normal Movable");
    // The pages stay accounted until the offline completes.
    CHECK(m.node_present_pages(0) == present);

    Outcome done = m.finish_offline(35);
    REQUIRE(done.ok());
    CHECK(actions(done) == std::vector<std::string>{"offline"});
    CHECK(devpaths(done) == std::vector<std::string>{devpath(35)});
    CHECK(done.events[0].seqnum == 1);
    CHECK(contains(done.changes.blocks, 35));
    CHECK(contains_node(done.changes.nodes, 0));
    CHECK_FALSE(done.pending_offline_ms.has_value());
    CHECK(m.blocks().at(35).block_state() == BlockState::Offline);
    CHECK_FALSE(zone_of(m, 35).has_value());
    CHECK(m.node_present_pages(0) == present - kPagesPerBlock);
}

TEST_CASE("set_online(false) and a migration that never finishes", "[slow]") {
    Machine m = make(slow_spec());
    Outcome o = m.set_online(50, false);
    REQUIRE(o.ok());
    REQUIRE(o.pending_offline_ms.has_value());
    CHECK(*o.pending_offline_ms == -1);
    CHECK(o.pending_block == 50);
    CHECK(m.blocks().at(50).block_state() == BlockState::GoingOffline);
    // The caller gives up (a signal): back online in the same zone, no uevent.
    const uint64_t present = m.node_present_pages(1);
    Outcome a = m.abort_offline(50);
    REQUIRE(a.ok());
    CHECK(a.events.empty());
    CHECK(a.changes.blocks == std::vector<uint64_t>{50});
    CHECK(m.blocks().at(50).block_state() == BlockState::Online);
    CHECK(zone_of(m, 50) == Zone::Normal);
    CHECK(m.valid_zones(50) == "Normal");
    CHECK(m.node_present_pages(1) == present);
    CHECK(m.last_seqnum() == 0);
}

TEST_CASE("a going-offline block refuses other writes with EBUSY", "[slow]") {
    Machine m = make(slow_spec());
    REQUIRE(m.set_state(35, OnlineType::Offline).pending_offline_ms);
    const auto before = snapshot(m);
    for (OnlineType t : {OnlineType::Offline, OnlineType::Online, OnlineType::OnlineKernel,
                         OnlineType::OnlineMovable}) {
        INFO(online_type_name(t));
        check_no_effect(m, m.set_state(35, t), EBUSY, before, 0);
    }
    check_no_effect(m, m.set_online(35, true), EBUSY, before, 0);
    check_no_effect(m, m.set_online(35, false), EBUSY, before, 0);
    // A removal covering it fails too, before anything else went offline.
    check_no_effect(m, m.remove_memory(35 * kBlock, kBlock), EBUSY, before, 0);
    // Other blocks are not affected.
    Outcome other = m.set_state(36, OnlineType::Offline);
    REQUIRE(other.ok());
    CHECK(actions(other) == std::vector<std::string>{"offline"});
    CHECK(m.blocks().at(35).block_state() == BlockState::GoingOffline);
    REQUIRE(m.finish_offline(35).ok());
}

TEST_CASE("finish_offline and abort_offline need a going-offline block", "[slow]") {
    Machine m = make(slow_spec());
    const auto before = snapshot(m);
    for (uint64_t id : {35ull, 72ull, 24ull, 5000ull}) {  // online, offline, absent, absent
        INFO("block " << id);
        check_no_effect(m, m.finish_offline(id), EINVAL, before, 0);
        check_no_effect(m, m.abort_offline(id), EINVAL, before, 0);
    }
    REQUIRE(m.set_state(35, OnlineType::Offline).ok());
    REQUIRE(m.finish_offline(35).ok());
    const auto after = snapshot(m);
    check_no_effect(m, m.finish_offline(35), EINVAL, after, 1);
    check_no_effect(m, m.abort_offline(35), EINVAL, after, 1);
}

TEST_CASE("the checks come before the wait", "[slow]") {
    MachineSpec spec = slow_spec();
    spec.holes = {35};
    spec.block_faults.push_back(BlockFaultSpec{36, 100, true});  // unmovable and slow
    Machine m = make(spec);
    const auto before = snapshot(m);
    check_no_effect(m, m.set_state(35, OnlineType::Offline), EINVAL, before, 0);
    check_no_effect(m, m.set_state(36, OnlineType::Offline), EBUSY, before, 0);
    // An injected MEM_GOING_OFFLINE error fails at once, without going-offline.
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOffline, -EAGAIN).ok());
    check_no_effect(m, m.set_state(50, OnlineType::Offline), EAGAIN, before, 0);
    REQUIRE(m.set_notifier_error(NotifierAction::GoingOffline, 0).ok());
    CHECK(m.set_state(50, OnlineType::Offline).pending_offline_ms == -1);
}

TEST_CASE("onlining a block with a migration delay is immediate", "[slow]") {
    Machine m = make(slow_spec());
    Outcome o = m.set_state(72, OnlineType::OnlineMovable);
    REQUIRE(o.ok());
    CHECK(actions(o) == std::vector<std::string>{"online"});
    CHECK_FALSE(o.pending_offline_ms.has_value());
    // Offlining it again waits; finishing shrinks Movable back to nothing.
    o = m.set_state(72, OnlineType::Offline);
    REQUIRE(o.pending_offline_ms == 20);
    CHECK(span(m, 0, Zone::Movable).present_pages == kPagesPerBlock);
    Outcome done = m.finish_offline(72);
    REQUIRE(done.ok());
    CHECK(span(m, 0, Zone::Movable).empty());
    CHECK_FALSE(done.changes.valid_zones.empty());  // the span change is announced
}

TEST_CASE("going-offline under auto-movable keeps the policy inputs", "[slow]") {
    MachineSpec spec = slow_spec();
    spec.params.online_policy = OnlinePolicy::AutoMovable;
    Machine m = make(spec);
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    const std::string before = m.valid_zones(73);
    Outcome o = m.set_state(72, OnlineType::Offline);
    REQUIRE(o.pending_offline_ms);
    CHECK_FALSE(o.changes.all_valid_zones);  // nothing was accounted yet
    CHECK(m.valid_zones(73) == before);
    Outcome done = m.finish_offline(72);
    CHECK(done.changes.all_valid_zones);
}

TEST_CASE("set_block_fault changes a block's migration delay and unmovable flag", "[slow]") {
    Machine m = default_machine();
    const auto before = snapshot(m);
    check_no_effect(m, m.set_block_fault(24, BlockFault{100, 0}, false), ENODEV, before, 0);
    check_no_effect(m, m.set_block_fault(35, BlockFault{-2, 0}, false), EINVAL, before, 0);

    Outcome o = m.set_block_fault(35, BlockFault{250, 7}, false);
    REQUIRE(o.ok());
    CHECK(o.changes.empty());
    CHECK(m.block_fault(35).migration_ms == 250);
    CHECK(m.block_fault(35).poisoned_pages == 0);  // poison is not set through this
    CHECK(m.set_state(35, OnlineType::Offline).pending_offline_ms == 250);
    REQUIRE(m.abort_offline(35).ok());

    REQUIRE(m.set_block_fault(35, BlockFault{0, 0}, true).ok());
    CHECK(m.blocks().at(35).unmovable);
    CHECK(m.set_state(35, OnlineType::Offline).error.code == EBUSY);
    REQUIRE(m.set_block_fault(35, BlockFault{}, false).ok());
    Outcome off = m.set_state(35, OnlineType::Offline);
    REQUIRE(off.ok());
    CHECK(actions(off) == std::vector<std::string>{"offline"});
}

TEST_CASE("removals do not wait for migration", "[slow]") {
    // Hot-added 72..75 online, 74 slow: remove_memory offlines 72 and 73, fails EBUSY on 74
    // and onlines 72 and 73 again.
    Machine m = default_machine();
    REQUIRE(m.set_block_fault(74, BlockFault{10, 0}, false).ok());
    for (uint64_t id : {72ull, 73ull, 74ull})
        REQUIRE(m.set_state(id, OnlineType::OnlineKernel).ok());
    const uint64_t seq = m.last_seqnum();
    Outcome o = m.remove_memory(9 * GiB, 4 * kBlock);
    CHECK(o.error.code == EBUSY);
    CHECK_FALSE(o.pending_offline_ms.has_value());
    CHECK(actions(o) == std::vector<std::string>{"offline", "offline", "online", "online"});
    check_event_stream(o, seq);
    for (uint64_t id : {72ull, 73ull, 74ull}) {
        CHECK(m.blocks().at(id).block_state() == BlockState::Online);
    }
    CHECK(o.changes.removed.empty());
    // Without the delay the removal goes through.
    REQUIRE(m.set_block_fault(74, BlockFault{}, false).ok());
    o = m.remove_memory(9 * GiB, 4 * kBlock);
    REQUIRE(o.ok());
    CHECK(o.changes.removed.size() == 4);
}
