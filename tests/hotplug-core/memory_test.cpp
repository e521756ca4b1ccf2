// Adding and removing memory (§6): probe, add_memory, remove_memory and their uevents.
#include "core_support.h"

#include <limits>

using namespace coretest;

namespace {

void check_no_effect(Machine& m, const Outcome& o, int code,
                     const std::map<uint64_t, BlockView>& before, uint64_t seq) {
    CHECK(o.error.code == code);
    CHECK(o.events.empty());
    CHECK(o.changes.empty());
    CHECK(m.last_seqnum() == seq);
    CHECK(snapshot(m) == before);
}

std::vector<std::string> expected_paths(std::initializer_list<uint64_t> ids) {
    std::vector<std::string> out;
    for (uint64_t id : ids) out.push_back(devpath(id));
    return out;
}

}  // namespace

TEST_CASE("probe errors", "[memory]") {
    Machine m = default_machine();
    const auto before = snapshot(m);
    // Not aligned to the block size.
    check_no_effect(m, m.probe(17 * GiB + 4096), EINVAL, before, 0);
    check_no_effect(m, m.probe(17 * GiB + 64 * MiB), EINVAL, before, 0);
    check_no_effect(m, m.probe(1), EINVAL, before, 0);
    // Present memory: boot memory, hot-added memory.
    check_no_effect(m, m.probe(0), EEXIST, before, 0);
    check_no_effect(m, m.probe(4 * GiB), EEXIST, before, 0);
    check_no_effect(m, m.probe(9 * GiB), EEXIST, before, 0);
    check_no_effect(m, m.probe(17 * GiB - kBlock), EEXIST, before, 0);
    // Outside every pluggable range: the PCI hole, above the last range, the top of the
    // address space (start + size would wrap around).
    check_no_effect(m, m.probe(3 * GiB), E2BIG, before, 0);
    check_no_effect(m, m.probe(49 * GiB), E2BIG, before, 0);
    check_no_effect(m, m.probe(1ull << 46), E2BIG, before, 0);
    const uint64_t top = std::numeric_limits<uint64_t>::max() - kBlock + 1;
    check_no_effect(m, m.probe(top), E2BIG, before, 0);
    CHECK(m.blocks().capacity() == 136);
}

TEST_CASE("probe disabled fails EPERM", "[memory]") {
    MachineSpec spec = default_machine_spec();
    spec.params.probe = false;
    Machine m = make(spec);
    CHECK_FALSE(m.params().probe);
    const auto before = snapshot(m);
    check_no_effect(m, m.probe(17 * GiB), EPERM, before, 0);
    check_no_effect(m, m.probe(17 * GiB + 4096), EPERM, before, 0);
    // The control API still adds memory.
    CHECK(m.add_memory(17 * GiB, kBlock, 0).ok());
}

TEST_CASE("probe adds one offline block on the node of the covering range", "[memory]") {
    Machine m = default_machine();
    Outcome o = m.probe(17 * GiB);
    REQUIRE(o.ok());
    CHECK(actions(o) == std::vector<std::string>{"add"});
    CHECK(devpaths(o) == expected_paths({136}));
    CHECK(o.events[0].seqnum == 1);
    CHECK(o.changes.added == std::vector<uint64_t>{136});
    CHECK(o.changes.blocks.empty());
    CHECK(m.blocks().present(136));
    CHECK_FALSE(is_online(m, 136));
    CHECK(m.blocks().at(136).node == 0);
    CHECK(m.valid_zones(136) == "Normal Movable");
    CHECK(m.blocks().count() == 129);

    // 40 GiB lies in node 1's range [33 GiB, 49 GiB).
    o = m.probe(40 * GiB);
    REQUIRE(o.ok());
    CHECK(m.blocks().at(40 * GiB / kBlock).node == 1);
    CHECK(o.events[0].seqnum == 2);
    // Probing the same address again: EEXIST.
    CHECK(m.probe(40 * GiB).error.code == EEXIST);
    // Addresses written in any base arrive here as numbers; the last block of a range works.
    CHECK(m.probe(49 * GiB - kBlock).ok());
}

TEST_CASE("add_memory emits add per block, then online per block", "[memory]") {
    struct Case {
        OnlineType type;
        Zone zone;
    };
    for (Case c : {Case{OnlineType::OnlineMovable, Zone::Movable},
                   Case{OnlineType::OnlineKernel, Zone::Normal},
                   Case{OnlineType::Online, Zone::Normal}}) {
        INFO("auto_online_blocks " << online_type_name(c.type));
        Machine m = default_machine();
        Outcome p = m.set_auto_online_blocks(c.type);
        CHECK(p.changes.params);
        CHECK(p.events.empty());
        CHECK(m.params().auto_online_blocks == c.type);

        Outcome o = m.add_memory(17 * GiB, 4 * kBlock, 0);
        REQUIRE(o.ok());
        CHECK(actions(o) ==
              std::vector<std::string>{"add", "add", "add", "add", "online", "online", "online",
                                       "online"});
        CHECK(devpaths(o) == expected_paths({136, 137, 138, 139, 136, 137, 138, 139}));
        check_event_stream(o, 0);
        CHECK(o.events.back().seqnum == 8);
        CHECK(o.changes.added == std::vector<uint64_t>{136, 137, 138, 139});
        for (uint64_t id = 136; id < 140; ++id) {
            CHECK(contains(o.changes.blocks, id));
            CHECK(is_online(m, id));
            CHECK(zone_of(m, id) == c.zone);
            CHECK(m.blocks().at(id).node == 0);
        }
        CHECK(contains_node(o.changes.nodes, 0));
    }
}

TEST_CASE("add_memory with auto_online_blocks=online follows the policy", "[memory]") {
    // movable_node: the first block intersects nothing -> Movable; later ones touch only
    // the growing Movable span's end -> neither -> Movable again.
    MachineSpec spec = default_machine_spec();
    spec.params.movable_node = true;
    spec.params.auto_online_blocks = OnlineType::Online;
    Machine m = make(spec);
    Outcome o = m.add_memory(33 * GiB, 2 * kBlock, 1);
    REQUIRE(o.ok());
    CHECK(actions(o) == std::vector<std::string>{"add", "add", "online", "online"});
    for (uint64_t id : {264ull, 265ull}) CHECK(zone_of(m, id) == Zone::Movable);

    // auto-movable policy on the default machine: node 0's 4 GiB early kernel memory has room
    // -> Movable.
    Machine a = default_machine();
    REQUIRE(a.set_online_policy(OnlinePolicy::AutoMovable).ok());
    REQUIRE(a.set_auto_online_blocks(OnlineType::Online).ok());
    o = a.add_memory(17 * GiB, kBlock, 0);
    REQUIRE(o.ok());
    CHECK(zone_of(a, 136) == Zone::Movable);
    CHECK(o.changes.all_valid_zones);
}

TEST_CASE("add_memory with auto_online_blocks=offline only adds", "[memory]") {
    Machine m = default_machine();
    Outcome o = m.add_memory(20 * GiB, 3 * kBlock, 1);
    REQUIRE(o.ok());
    CHECK(actions(o) == std::vector<std::string>{"add", "add", "add"});
    CHECK(o.changes.blocks.empty());
    CHECK(o.changes.nodes.empty());
    CHECK_FALSE(o.changes.node_masks);
    for (uint64_t id = 160; id < 163; ++id) {
        CHECK_FALSE(is_online(m, id));
        CHECK(m.blocks().at(id).node == 1);  // the control API names the node
    }
}

TEST_CASE("add_memory errors", "[memory]") {
    Machine m = default_machine();
    const auto before = snapshot(m);
    check_no_effect(m, m.add_memory(17 * GiB, 0, 0), EINVAL, before, 0);
    check_no_effect(m, m.add_memory(17 * GiB, kBlock / 2, 0), EINVAL, before, 0);
    check_no_effect(m, m.add_memory(17 * GiB + MiB, kBlock, 0), EINVAL, before, 0);
    check_no_effect(m, m.add_memory(17 * GiB, kBlock, 2), EINVAL, before, 0);
    check_no_effect(m, m.add_memory(17 * GiB, kBlock, -1), EINVAL, before, 0);
    // Overlapping present memory anywhere in the range.
    check_no_effect(m, m.add_memory(16 * GiB, 2 * GiB, 0), EEXIST, before, 0);
    // Crossing the end of a pluggable range, or not in one at all.
    check_no_effect(m, m.add_memory(32 * GiB, 2 * GiB, 0), E2BIG, before, 0);
    check_no_effect(m, m.add_memory(60 * GiB, kBlock, 0), E2BIG, before, 0);
    // Huge sizes: answered without walking every block id and without wrapping.
    const uint64_t huge = uint64_t{1} << 62;
    check_no_effect(m, m.add_memory(60 * GiB, huge, 0), E2BIG, before, 0);
    check_no_effect(m, m.add_memory(0, huge, 0), EEXIST, before, 0);
    const uint64_t top = std::numeric_limits<uint64_t>::max() - kBlock + 1;
    check_no_effect(m, m.add_memory(top, kBlock, 0), E2BIG, before, 0);
}

TEST_CASE("remove_memory offlines online blocks first, then removes", "[memory]") {
    Machine m = default_machine();
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    REQUIRE(m.set_state(73, OnlineType::OnlineKernel).ok());
    const uint64_t seq = m.last_seqnum();
    Outcome o = m.remove_memory(9 * GiB, 4 * kBlock);
    REQUIRE(o.ok());
    CHECK(actions(o) ==
          std::vector<std::string>{"offline", "offline", "remove", "remove", "remove", "remove"});
    CHECK(devpaths(o) == expected_paths({72, 73, 72, 73, 74, 75}));
    check_event_stream(o, seq);
    for (uint64_t id = 72; id < 76; ++id) {
        CHECK_FALSE(m.blocks().present(id));
        CHECK(removed_contains(o.changes, id));
    }
    REQUIRE(o.changes.removed.size() == 4);
    CHECK(o.changes.removed[0].node == 0);
    CHECK(contains(o.changes.blocks, 72));
    CHECK(contains(o.changes.blocks, 73));
    CHECK(contains_node(o.changes.nodes, 0));
    CHECK(span(m, 0, Zone::Movable).empty());
    CHECK(span(m, 0, Zone::Normal).end_pfn == pfns(32, 39).second);
    CHECK(m.blocks().count() == 124);
    CHECK(m.blocks().present(76));

    // The range can be plugged again.
    Outcome again = m.probe(9 * GiB);
    REQUIRE(again.ok());
    CHECK(m.blocks().at(72).node == 0);
}

TEST_CASE("remove_memory rolls back when a block cannot be offlined", "[memory]") {
    MachineSpec spec = default_machine_spec();
    spec.unmovable = {74};
    Machine m = make(spec);
    for (uint64_t id : {72ull, 73ull, 74ull}) REQUIRE(m.set_state(id, OnlineType::OnlineMovable).ok());
    const uint64_t seq = m.last_seqnum();
    Outcome o = m.remove_memory(9 * GiB, 4 * kBlock);
    CHECK(o.error.code == EBUSY);
    // 72 and 73 went offline, 74 failed, then 72 and 73 came back online; nothing removed.
    CHECK(actions(o) == std::vector<std::string>{"offline", "offline", "online", "online"});
    CHECK(devpaths(o) == expected_paths({72, 73, 72, 73}));
    check_event_stream(o, seq);
    CHECK(o.changes.removed.empty());
    for (uint64_t id = 72; id < 76; ++id) CHECK(m.blocks().present(id));
    for (uint64_t id : {72ull, 73ull, 74ull}) CHECK(is_online(m, id));
    CHECK_FALSE(is_online(m, 75));
    // The rollback onlines like a write of `online` (the kernel's device_online uses the
    // default online type): with Movable shrunk to 74 alone, 72 and 73 touch no zone and
    // come back in the kernel zone, not in Movable where they were.
    CHECK(zone_of(m, 72) == Zone::Normal);
    CHECK(zone_of(m, 73) == Zone::Normal);
    CHECK(zone_of(m, 74) == Zone::Movable);
    CHECK(contains(o.changes.blocks, 72));
    CHECK(contains(o.changes.blocks, 73));
    CHECK(m.blocks().count() == 128);
}

TEST_CASE("remove_memory of boot memory that cannot go offline fails cleanly", "[memory]") {
    Machine m = default_machine();
    const auto before = snapshot(m);
    // Block 0 is managed by two zones: EINVAL before anything was offlined.
    check_no_effect(m, m.remove_memory(0, kBlock), EINVAL, before, 0);
    // Absent blocks in the range.
    check_no_effect(m, m.remove_memory(3 * GiB, kBlock), EINVAL, before, 0);
    check_no_effect(m, m.remove_memory(16 * GiB, 2 * GiB), EINVAL, before, 0);
    check_no_effect(m, m.remove_memory(9 * GiB + MiB, kBlock), EINVAL, before, 0);
    check_no_effect(m, m.remove_memory(9 * GiB, 0), EINVAL, before, 0);
}

TEST_CASE("node masks and meminfo hints follow a node's first and last memory", "[memory]") {
    // Node 1 boots without memory; it only has hot-added offline blocks 40..47.
    MachineSpec spec;
    spec.nodes = plain_nodes(2);
    spec.memory = {boot(0, 3 * GiB, 0), boot(4 * GiB, 1 * GiB, 0),
                   hot_offline(5 * GiB, 1 * GiB, 1)};
    spec.pluggable = {PluggableRangeSpec{5 * GiB, 4 * GiB, 1}};
    Machine m = make(spec);
    REQUIRE_FALSE(m.node_has_memory(1));

    // First memory, movable: has_memory flips (has_normal_memory not yet).
    Outcome o = m.set_state(40, OnlineType::OnlineMovable);
    REQUIRE(o.ok());
    CHECK(o.changes.node_masks);
    CHECK(contains_node(o.changes.nodes, 1));
    CHECK(m.node_has_memory(1));
    CHECK_FALSE(m.node_has_normal_memory(1));

    // More movable memory: masks unchanged, meminfo changed.
    o = m.set_state(41, OnlineType::OnlineMovable);
    CHECK_FALSE(o.changes.node_masks);
    CHECK(contains_node(o.changes.nodes, 1));

    // First kernel memory: has_normal_memory flips.
    o = m.set_state(42, OnlineType::OnlineKernel);
    CHECK(o.changes.node_masks);
    CHECK(m.node_has_normal_memory(1));
    o = m.set_state(43, OnlineType::OnlineKernel);
    CHECK_FALSE(o.changes.node_masks);

    // Losing one of two kernel blocks: no flip; the last one: flip.
    o = m.set_state(43, OnlineType::Offline);
    CHECK_FALSE(o.changes.node_masks);
    o = m.set_state(42, OnlineType::Offline);
    CHECK(o.changes.node_masks);
    CHECK_FALSE(m.node_has_normal_memory(1));
    CHECK(m.node_has_memory(1));

    // Removing the node's memory while online: the offlining inside the removal flips
    // has_memory.
    o = m.remove_memory(5 * GiB, 1 * GiB);
    REQUIRE(o.ok());
    CHECK(o.changes.node_masks);
    CHECK(contains_node(o.changes.nodes, 1));
    CHECK_FALSE(m.node_has_memory(1));
    CHECK(m.node_present_pages(1) == 0);

    // Adding it back with auto-online: has_memory and has_normal_memory flip again.
    REQUIRE(m.set_auto_online_blocks(OnlineType::OnlineKernel).ok());
    o = m.probe(5 * GiB);
    REQUIRE(o.ok());
    CHECK(m.blocks().at(40).node == 1);
    CHECK(o.changes.node_masks);
    CHECK(contains_node(o.changes.nodes, 1));
    CHECK(m.node_has_normal_memory(1));
}

TEST_CASE("the default machine's node 1 loses its last memory", "[memory]") {
    Machine m = default_machine();
    for (uint64_t id = 40; id < 71; ++id) {
        Outcome o = m.set_state(id, OnlineType::Offline);
        REQUIRE(o.ok());
        CHECK_FALSE(o.changes.node_masks);
    }
    Outcome o = m.set_state(71, OnlineType::Offline);
    REQUIRE(o.ok());
    CHECK(o.changes.node_masks);
    CHECK(contains_node(o.changes.nodes, 1));
    CHECK_FALSE(contains_node(o.changes.nodes, 0));
    CHECK_FALSE(m.node_has_memory(1));
    CHECK(m.node_has_memory(0));
}
