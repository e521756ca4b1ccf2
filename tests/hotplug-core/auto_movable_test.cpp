// online_policy=auto-movable (§5): the MOVABLE <= ratio% x KERNEL_EARLY rule.
#include "core_support.h"

using namespace coretest;

namespace {

// One node with 4 GiB of boot (early) kernel memory and 16 GiB hot-added offline above it
// (blocks 40..167).
MachineSpec one_node_spec() {
    MachineSpec spec;
    spec.nodes = plain_nodes(1);
    spec.memory = {boot(0, 3 * GiB), boot(4 * GiB, 1 * GiB), hot_offline(5 * GiB, 16 * GiB)};
    spec.pluggable = {PluggableRangeSpec{5 * GiB, 32 * GiB, 0}};
    spec.params.online_policy = OnlinePolicy::AutoMovable;
    return spec;
}

// Node 0: 4 GiB early, 2 GiB hot-added offline (blocks 112..127).
// Node 1: 1 GiB early (blocks 40..47), 8 GiB hot-added offline (blocks 48..111).
MachineSpec two_node_spec(bool numa_aware) {
    MachineSpec spec;
    spec.nodes = plain_nodes(2);
    spec.memory = {boot(0, 3 * GiB, 0), boot(4 * GiB, 1 * GiB, 0), boot(5 * GiB, 1 * GiB, 1),
                   hot_offline(6 * GiB, 8 * GiB, 1), hot_offline(14 * GiB, 2 * GiB, 0)};
    spec.params.online_policy = OnlinePolicy::AutoMovable;
    spec.params.auto_movable_numa_aware = numa_aware;
    return spec;
}

}  // namespace

TEST_CASE("auto-movable: ratio 301 over 4 GiB early kernel memory allows 12 GiB movable",
          "[auto-movable]") {
    // 301% of 4 GiB = 12.04 GiB: 96 blocks of 128 MiB (12 GiB) fit, the 97th does not.
    Machine m = make(one_node_spec());
    REQUIRE(m.node(0)->early_kernel_pages == 4 * GiB / kPageSize);
    CHECK(m.valid_zones(40) == "Movable Normal");
    for (uint64_t id = 40; id < 40 + 96; ++id) {
        INFO("block " << id);
        Outcome o = m.set_online(id, true);
        REQUIRE(o.ok());
        CHECK(zone_of(m, id) == Zone::Movable);
        // Policy inputs changed: every offline block may read differently.
        CHECK(o.changes.all_valid_zones);
    }
    CHECK(span(m, 0, Zone::Movable).present_pages * kPageSize == 12 * GiB);
    // The 97th would exceed the ratio: kernel zone first now.
    CHECK(m.valid_zones(136) == "Normal Movable");
    REQUIRE(m.set_online(136, true).ok());
    CHECK(zone_of(m, 136) == Zone::Normal);
    // Hot-added kernel memory is not early memory: it buys no more movable memory.
    CHECK(m.node(0)->early_kernel_pages == 4 * GiB / kPageSize);
    CHECK(m.valid_zones(137) == "Normal Movable");
    // online_movable still forces Movable.
    REQUIRE(m.set_state(137, OnlineType::OnlineMovable).ok());
    CHECK(zone_of(m, 137) == Zone::Movable);
    // Freeing two movable blocks makes room for one again.
    REQUIRE(m.set_state(137, OnlineType::Offline).ok());
    CHECK(m.valid_zones(138) == "Normal Movable");
    REQUIRE(m.set_state(40, OnlineType::Offline).ok());
    CHECK(m.valid_zones(138) == "Movable Normal");
}

TEST_CASE("auto-movable: ratio 0 always picks the kernel zone", "[auto-movable]") {
    MachineSpec spec = one_node_spec();
    spec.params.auto_movable_ratio = 0;
    Machine m = make(spec);
    // Nothing movable yet, yet ratio 0 -> kernel.
    CHECK(m.valid_zones(40) == "Normal Movable");
    REQUIRE(m.set_online(40, true).ok());
    CHECK(zone_of(m, 40) == Zone::Normal);

    // Switching the ratio at run time tells adapters that all valid_zones may change.
    Outcome o = m.set_auto_movable_ratio(301);
    CHECK(o.ok());
    CHECK(o.changes.params);
    CHECK(o.changes.all_valid_zones);
    CHECK(o.events.empty());
    CHECK(m.params().auto_movable_ratio == 301);
    CHECK(m.valid_zones(41) == "Movable Normal");
    o = m.set_auto_movable_ratio(0);
    CHECK(o.changes.all_valid_zones);
    CHECK(m.valid_zones(41) == "Normal Movable");
}

TEST_CASE("auto-movable: a smaller ratio admits proportionally less", "[auto-movable]") {
    // 100% of 4 GiB -> exactly 32 blocks movable.
    MachineSpec spec = one_node_spec();
    spec.params.auto_movable_ratio = 100;
    Machine m = make(spec);
    for (uint64_t id = 40; id < 72; ++id) REQUIRE(m.set_online(id, true).ok());
    for (uint64_t id = 40; id < 72; ++id) CHECK(zone_of(m, id) == Zone::Movable);
    REQUIRE(m.set_online(72, true).ok());
    CHECK(zone_of(m, 72) == Zone::Normal);
}

TEST_CASE("auto-movable: offlining boot memory lowers KERNEL_EARLY", "[auto-movable]") {
    // Boot block 33 (Normal) is early kernel memory: offlining it removes one block of early
    // pages; onlining it again to the kernel restores them.
    Machine m = make(one_node_spec());
    const uint64_t early = m.node(0)->early_kernel_pages;
    REQUIRE(m.set_state(33, OnlineType::Offline).ok());
    CHECK(m.node(0)->early_kernel_pages == early - kPagesPerBlock);
    REQUIRE(m.set_state(33, OnlineType::OnlineKernel).ok());
    CHECK(m.node(0)->early_kernel_pages == early);
    // Boot memory onlined to Movable is not kernel memory and not counted.
    REQUIRE(m.set_state(33, OnlineType::Offline).ok());
    REQUIRE(m.set_state(33, OnlineType::OnlineMovable).ok());
    CHECK(m.node(0)->early_kernel_pages == early - kPagesPerBlock);
}

TEST_CASE("auto-movable: numa-aware limits each node to its own ratio", "[auto-movable]") {
    SECTION("numa-aware on") {
        // Node 1 has 1 GiB early: 301% = 3.01 GiB -> 24 blocks movable, then kernel.
        Machine m = make(two_node_spec(true));
        for (uint64_t id = 48; id < 72; ++id) {
            INFO("block " << id);
            REQUIRE(m.set_online(id, true).ok());
            CHECK(zone_of(m, id) == Zone::Movable);
        }
        CHECK(m.valid_zones(72) == "Normal Movable");
        REQUIRE(m.set_online(72, true).ok());
        CHECK(zone_of(m, 72) == Zone::Normal);
        // Node 0 still has room of its own (4 GiB early) -> Movable.
        CHECK(m.valid_zones(112) == "Movable Normal");
        REQUIRE(m.set_online(112, true).ok());
        CHECK(zone_of(m, 112) == Zone::Movable);

        // Turning numa-awareness off makes the system-wide rule alone decide.
        Outcome o = m.set_auto_movable_numa_aware(false);
        CHECK(o.changes.params);
        CHECK(o.changes.all_valid_zones);
        CHECK_FALSE(m.params().auto_movable_numa_aware);
        CHECK(m.valid_zones(73) == "Movable Normal");
    }
    SECTION("numa-aware off") {
        // System-wide 5 GiB early: 301% = 15.05 GiB -> 120 blocks; node 1's 64 blocks all fit.
        Machine m = make(two_node_spec(false));
        for (uint64_t id = 48; id < 112; ++id) {
            INFO("block " << id);
            REQUIRE(m.set_online(id, true).ok());
            CHECK(zone_of(m, id) == Zone::Movable);
        }
        CHECK(span(m, 1, Zone::Movable).present_pages == 64 * kPagesPerBlock);
        // 64 + 16 = 80 blocks, still under 120 -> node 0's blocks go Movable as well.
        for (uint64_t id = 112; id < 128; ++id) {
            REQUIRE(m.set_online(id, true).ok());
            CHECK(zone_of(m, id) == Zone::Movable);
        }
    }
}

TEST_CASE("auto-movable: the system-wide limit binds too", "[auto-movable]") {
    // Numa-aware on. Node 0: 1 GiB early; node 1: 4 GiB early. System-wide 5 GiB -> 120
    // blocks; node 1 alone -> 96. 40 blocks forced movable on node 0 leave room for 80 on
    // node 1: the 81st fails the system-wide rule although node 1 alone would allow it.
    MachineSpec spec;
    spec.nodes = plain_nodes(2);
    spec.memory = {boot(0, 1 * GiB, 0), boot(4 * GiB, 4 * GiB, 1),
                   hot_offline(8 * GiB, 16 * GiB, 1), hot_offline(24 * GiB, 8 * GiB, 0)};
    spec.params.online_policy = OnlinePolicy::AutoMovable;
    Machine m = make(spec);
    const uint64_t n1 = 8 * GiB / kBlock, n0 = 24 * GiB / kBlock;
    for (uint64_t i = 0; i < 40; ++i) REQUIRE(m.set_state(n0 + i, OnlineType::OnlineMovable).ok());
    // Node 0 is over its own limit: kernel first (DMA32 ends at 1 GiB -> Normal).
    CHECK(m.valid_zones(n0 + 40) == "Normal Movable");
    for (uint64_t i = 0; i < 80; ++i) {
        INFO("node 1 block " << i);
        REQUIRE(m.set_online(n1 + i, true).ok());
        CHECK(zone_of(m, n1 + i) == Zone::Movable);
    }
    CHECK(m.valid_zones(n1 + 80) == "Normal Movable");
    REQUIRE(m.set_online(n1 + 80, true).ok());
    CHECK(zone_of(m, n1 + 80) == Zone::Normal);
    // Without numa-awareness the system-wide rule alone gives the same answer here.
    REQUIRE(m.set_auto_movable_numa_aware(false).ok());
    CHECK(m.valid_zones(n1 + 81) == "Normal Movable");
}
