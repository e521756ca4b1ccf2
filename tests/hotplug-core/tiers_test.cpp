// Memory tiers: each node's memory on the tier of its abstract distance while it has memory;
// tiers appear with their first node's memory and go with their last node's.
#include "core_support.h"

using namespace coretest;

namespace {

// Two DRAM nodes with CPUs (node 1 boots with nothing online) and a CPU-less node 2 whose
// memory is slower (adistance 1024: memory_tier8), 1 GiB at 8 GiB, online.
MachineSpec tiered_spec() {
    MachineSpec spec;
    spec.block_size = kBlock;
    spec.nodes = plain_nodes(3);
    spec.nodes[0].cpus = {0, 1};
    spec.nodes[1].cpus = {2, 3};
    spec.nodes[2].adistance = 1024;
    spec.memory = {boot(0, 2 * GiB), boot_offline(4 * GiB, 1 * GiB, 1), boot(8 * GiB, 1 * GiB, 2)};
    return spec;
}

std::vector<std::string> tier_events(const Outcome& out) {
    std::vector<std::string> events;
    for (const auto& e : out.events) events.push_back(e.action + " " + e.devpath);
    return events;
}

}  // namespace

TEST_CASE("tiers: DRAM on memory_tier4, a configured adistance on its own tier", "[tiers]") {
    const Machine m = make(tiered_spec());
    CHECK(kMemtierAdistanceDram == 576);
    CHECK(m.node_adistance(0) == 576);
    CHECK(m.node_memory_tier(0) == 4);
    CHECK(m.node_memory_tier(1) == 4);
    CHECK(m.node_memory_tier(2) == 8);
    CHECK(m.memory_tiers() == std::vector<int>{4, 8});
    CHECK(m.possible_memory_tiers() == std::vector<int>{4, 8});
    CHECK(m.tier_nodes(4) == std::vector<int>{0});  // node 1 has no memory online
    CHECK(m.tier_nodes(8) == std::vector<int>{2});
    CHECK(m.tier_nodes(5).empty());

    MachineSpec chunk = tiered_spec();
    chunk.nodes[2].adistance = 1023;  // the top of tier 7's chunk
    CHECK(make(chunk).node_memory_tier(2) == 7);
    chunk.nodes[2].adistance = -1;
    CHECK_FALSE(Machine::build(chunk).ok());
}

TEST_CASE("tiers: a node joins its tier with its first memory and leaves with its last",
          "[tiers]") {
    Machine m = make(tiered_spec());
    const uint64_t first1 = 4 * GiB / kBlock;  // node 1's blocks 32-39

    // Node 1 joins the existing DRAM tier: no tier device is created.
    Outcome out = m.set_state(first1, OnlineType::Online);
    REQUIRE(out.ok());
    CHECK(tier_events(out) == std::vector<std::string>{"online /devices/system/memory/memory32"});
    CHECK(m.tier_nodes(4) == std::vector<int>{0, 1});
    REQUIRE(m.set_state(first1, OnlineType::Offline).ok());
    CHECK(m.tier_nodes(4) == std::vector<int>{0});

    // Node 2 alone on tier 8: its last block's offline destroys the tier first.
    const uint64_t first2 = 8 * GiB / kBlock;  // blocks 64-71
    for (uint64_t id = first2; id < first2 + 7; ++id) {
        out = m.set_state(id, OnlineType::Offline);
        REQUIRE(out.ok());
        CHECK(out.events.size() == 1);
    }
    CHECK(m.memory_tiers() == std::vector<int>{4, 8});
    out = m.set_state(first2 + 7, OnlineType::Offline);
    REQUIRE(out.ok());
    CHECK(tier_events(out) ==
          std::vector<std::string>{"remove /devices/virtual/memory_tiering/memory_tier8",
                                   "offline /devices/system/memory/memory71"});
    CHECK(out.events[0].subsystem == "memory_tiering");
    CHECK(out.events[1].seqnum == out.events[0].seqnum + 1);
    CHECK(out.changes.node_masks);
    CHECK(m.memory_tiers() == std::vector<int>{4});
    CHECK(m.possible_memory_tiers() == std::vector<int>{4, 8});

    // Its first memory creates it again, before the block's online event.
    out = m.set_state(first2 + 3, OnlineType::OnlineMovable);
    REQUIRE(out.ok());
    CHECK(tier_events(out) ==
          std::vector<std::string>{"add /devices/virtual/memory_tiering/memory_tier8",
                                   "online /devices/system/memory/memory67"});
    CHECK(m.tier_nodes(8) == std::vector<int>{2});
}

TEST_CASE("tiers: a CPU-less node without adistance shares the DRAM tier", "[tiers]") {
    MachineSpec spec = tiered_spec();
    spec.nodes[2].adistance.reset();
    const Machine m = make(spec);
    CHECK(m.memory_tiers() == std::vector<int>{4});
    CHECK(m.tier_nodes(4) == std::vector<int>{0, 2});
}

TEST_CASE("tiers: demotion_enabled is stored and reports a parameter change", "[tiers]") {
    Machine m = make(tiered_spec());
    CHECK_FALSE(m.demotion_enabled());
    Outcome out = m.set_demotion_enabled(true);
    CHECK(out.ok());
    CHECK(out.changes.params);
    CHECK(m.demotion_enabled());
    CHECK_FALSE(m.set_demotion_enabled(true).changes.params);  // no change
}
