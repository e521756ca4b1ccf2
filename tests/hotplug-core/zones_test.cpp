// Zone choice and valid_zones under online_policy=contig-zones (§5), zone spans.
#include "core_support.h"

using namespace coretest;

namespace {

Machine default_with_movable_node(bool movable_node) {
    MachineSpec spec = default_machine_spec();
    spec.params.movable_node = movable_node;
    return make(spec);
}

// s390x: DMA below 2 GiB, no DMA32, 256 MiB blocks; 4 GiB boot memory on one node.
MachineSpec s390x_spec() {
    MachineSpec spec;
    spec.arch = Arch::S390x;
    spec.block_size = 256 * MiB;
    spec.nodes = plain_nodes(1);
    spec.memory = {boot(0, 4 * GiB), hot_offline(4 * GiB, 2 * GiB)};
    spec.pluggable = {PluggableRangeSpec{4 * GiB, 4 * GiB, 0}};
    return spec;
}

}  // namespace

TEST_CASE("online blocks show their zone", "[zones]") {
    Machine m = default_machine();
    CHECK(m.valid_zones(0) == "none");
    CHECK(m.valid_zones(1) == "DMA32");
    CHECK(m.valid_zones(39) == "Normal");
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    CHECK(m.valid_zones(72) == "Movable");
    CHECK(zone_of(m, 72) == Zone::Movable);
}

TEST_CASE("online_kernel picks the default kernel zone", "[zones]") {
    // x86_64: hot-added memory above 4 GiB intersects neither DMA nor DMA32 -> Normal.
    Machine m = default_machine();
    CHECK(m.zone_for_online(72, OnlineType::OnlineKernel) == Zone::Normal);
    REQUIRE(m.set_state(72, OnlineType::OnlineKernel).ok());
    CHECK(zone_of(m, 72) == Zone::Normal);

    // A DMA32 block offlined in the middle of the zone still intersects DMA32 -> DMA32.
    REQUIRE(m.set_state(10, OnlineType::Offline).ok());
    CHECK(m.valid_zones(10) == "DMA32 Movable");
    CHECK(m.zone_for_online(10, OnlineType::OnlineKernel) == Zone::DMA32);
    REQUIRE(m.set_state(10, OnlineType::OnlineKernel).ok());
    CHECK(zone_of(m, 10) == Zone::DMA32);

    // s390x: a block inside the DMA span -> DMA (the first intersecting of DMA, DMA32).
    Machine s = make(s390x_spec());
    CHECK(s.valid_zones(3) == "DMA");
    CHECK(s.valid_zones(8) == "Normal");
    REQUIRE(s.set_state(3, OnlineType::Offline).ok());
    CHECK(s.valid_zones(3) == "DMA Movable");
    REQUIRE(s.set_state(3, OnlineType::OnlineKernel).ok());
    CHECK(zone_of(s, 3) == Zone::DMA);
    // s390x hot-added memory above 2 GiB -> Normal.
    CHECK(s.valid_zones(16) == "Normal Movable");
}

TEST_CASE("online_movable always picks Movable", "[zones]") {
    Machine m = default_machine();
    // Far from every zone.
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    CHECK(zone_of(m, 72) == Zone::Movable);
    // Inside the DMA32 span: still Movable.
    REQUIRE(m.set_state(10, OnlineType::Offline).ok());
    REQUIRE(m.set_state(10, OnlineType::OnlineMovable).ok());
    CHECK(zone_of(m, 10) == Zone::Movable);
    CHECK(m.valid_zones(10) == "Movable");
    // Inside the Normal span of node 1: still Movable.
    REQUIRE(m.set_state(50, OnlineType::Offline).ok());
    REQUIRE(m.set_state(50, OnlineType::OnlineMovable).ok());
    CHECK(zone_of(m, 50) == Zone::Movable);
    CHECK(m.node_kernel_present_pages(1) == 31 * kPagesPerBlock);
    CHECK(m.node_present_pages(1) == 32 * kPagesPerBlock);
}

TEST_CASE("contig-zones: neither zone intersects", "[zones]") {
    SECTION("without movable_node the kernel zone wins") {
        // Block 72 is far from node 0's Normal span and Movable is empty -> Normal first.
        Machine m = default_with_movable_node(false);
        CHECK(m.valid_zones(72) == "Normal Movable");
        CHECK(m.zone_for_online(72, OnlineType::Online) == Zone::Normal);
        REQUIRE(m.set_online(72, true).ok());
        CHECK(zone_of(m, 72) == Zone::Normal);
    }
    SECTION("with movable_node Movable wins") {
        // Same block, movable_node set -> Movable first, Normal offered second.
        Machine m = default_with_movable_node(true);
        CHECK(m.valid_zones(72) == "Movable Normal");
        CHECK(m.valid_zones(104) == "Movable Normal");
        REQUIRE(m.set_online(72, true).ok());
        CHECK(zone_of(m, 72) == Zone::Movable);
        REQUIRE(m.set_state(104, OnlineType::Online).ok());
        CHECK(zone_of(m, 104) == Zone::Movable);
    }
}

TEST_CASE("contig-zones: only the kernel zone intersects", "[zones]") {
    // movable_node set, node 0 Normal grown to the hull of 32..75 -> block 73 lies inside
    // Normal only -> Normal, despite movable_node.
    Machine m = default_with_movable_node(true);
    REQUIRE(m.set_state(72, OnlineType::OnlineKernel).ok());
    REQUIRE(m.set_state(75, OnlineType::OnlineKernel).ok());
    CHECK(zone_of(m, 72) == Zone::Normal);
    CHECK(zone_of(m, 75) == Zone::Normal);
    CHECK(span(m, 0, Zone::Normal).start_pfn == pfns(32, 75).first);
    CHECK(span(m, 0, Zone::Normal).end_pfn == pfns(32, 75).second);
    CHECK(m.valid_zones(73) == "Normal Movable");
    CHECK(m.valid_zones(74) == "Normal Movable");
    // Just past the span's end: neither -> Movable (movable_node).
    CHECK(m.valid_zones(76) == "Movable Normal");
    CHECK(m.valid_zones(90) == "Movable Normal");
    REQUIRE(m.set_online(73, true).ok());
    CHECK(zone_of(m, 73) == Zone::Normal);
}

TEST_CASE("contig-zones: only Movable intersects", "[zones]") {
    // No movable_node; Movable spans 72..74 -> block 73 inside Movable only -> Movable.
    Machine m = default_with_movable_node(false);
    REQUIRE(m.set_state(72, OnlineType::OnlineMovable).ok());
    REQUIRE(m.set_state(74, OnlineType::OnlineMovable).ok());
    CHECK(span(m, 0, Zone::Movable).start_pfn == pfns(72, 74).first);
    CHECK(span(m, 0, Zone::Movable).end_pfn == pfns(72, 74).second);
    CHECK(span(m, 0, Zone::Movable).present_pages == 2 * kPagesPerBlock);
    CHECK(m.valid_zones(73) == "Movable Normal");
    // Adjacent to the Movable span (touching, not overlapping): neither -> Normal.
    CHECK(m.valid_zones(75) == "Normal Movable");
    // A node-1 block is unaffected: zones are per node.
    CHECK(m.valid_zones(105) == "Normal Movable");
    REQUIRE(m.set_online(73, true).ok());
    CHECK(zone_of(m, 73) == Zone::Movable);
    // Span unchanged: 73 was inside the hull already.
    CHECK(span(m, 0, Zone::Movable).end_pfn == pfns(72, 74).second);
}

TEST_CASE("contig-zones: both zones intersect", "[zones]") {
    // Normal hull 32..80 and Movable hull 74..78 on node 0; block 76 lies in both.
    auto setup = [](Machine& m) {
        REQUIRE(m.set_state(72, OnlineType::OnlineKernel).ok());
        REQUIRE(m.set_state(80, OnlineType::OnlineKernel).ok());
        REQUIRE(m.set_state(74, OnlineType::OnlineMovable).ok());
        REQUIRE(m.set_state(78, OnlineType::OnlineMovable).ok());
    };
    SECTION("without movable_node") {
        // Both -> kernel zone; Normal only -> Normal; neither -> Normal.
        Machine m = default_with_movable_node(false);
        setup(m);
        CHECK(m.valid_zones(76) == "Normal Movable");
        CHECK(m.valid_zones(73) == "Normal Movable");
        CHECK(m.valid_zones(82) == "Normal Movable");
        REQUIRE(m.set_online(76, true).ok());
        CHECK(zone_of(m, 76) == Zone::Normal);
    }
    SECTION("with movable_node") {
        // Both -> Movable; Normal only -> Normal; neither -> Movable.
        Machine m = default_with_movable_node(true);
        setup(m);
        CHECK(m.valid_zones(76) == "Movable Normal");
        CHECK(m.valid_zones(73) == "Normal Movable");
        CHECK(m.valid_zones(82) == "Movable Normal");
        REQUIRE(m.set_online(76, true).ok());
        CHECK(zone_of(m, 76) == Zone::Movable);
    }
}

TEST_CASE("zone spans are per node", "[zones]") {
    // Node 1's Normal grown to 40..135 covers the pfns of node 0's blocks 72..103, but node 0
    // blocks look only at node 0's zones.
    Machine m = default_with_movable_node(true);
    CHECK(m.valid_zones(104) == "Movable Normal");
    REQUIRE(m.set_state(135, OnlineType::OnlineKernel).ok());
    CHECK(span(m, 1, Zone::Normal).end_pfn == pfns(40, 135).second);
    CHECK(m.valid_zones(104) == "Normal Movable");
    CHECK(m.valid_zones(72) == "Movable Normal");
    CHECK(m.valid_zones(103) == "Movable Normal");
}

TEST_CASE("valid_zones of offline blocks at a zone boundary", "[zones]") {
    SECTION("Normal edge with movable_node") {
        Machine m = default_with_movable_node(true);
        // Middle block of node 1's Normal offlined: span unchanged, still inside -> Normal.
        REQUIRE(m.set_state(50, OnlineType::Offline).ok());
        CHECK(span(m, 1, Zone::Normal).end_pfn == pfns(40, 71).second);
        CHECK(m.valid_zones(50) == "Normal Movable");
        // Last block offlined: span ends at 71 now; 71 only touches it -> neither -> Movable.
        REQUIRE(m.set_state(71, OnlineType::Offline).ok());
        CHECK(span(m, 1, Zone::Normal).end_pfn == pfns(40, 70).second);
        CHECK(m.valid_zones(71) == "Movable Normal");
        // Far away on the same node -> neither -> Movable.
        CHECK(m.valid_zones(104) == "Movable Normal");
        // Onlining 71 with the policy now picks Movable, next to the Normal span.
        REQUIRE(m.set_online(71, true).ok());
        CHECK(zone_of(m, 71) == Zone::Movable);
        CHECK(m.valid_zones(50) == "Normal Movable");
    }
    SECTION("DMA32 edge without movable_node") {
        Machine m = default_machine();
        // Middle of DMA32: intersects DMA32 -> "DMA32 Movable".
        REQUIRE(m.set_state(10, OnlineType::Offline).ok());
        CHECK(m.valid_zones(10) == "DMA32 Movable");
        // 22 offlined while 23 is online: DMA32 still spans it.
        REQUIRE(m.set_state(22, OnlineType::Offline).ok());
        CHECK(m.valid_zones(22) == "DMA32 Movable");
        // 23 offlined: DMA32 shrinks to end at 21, so 22 and 23 intersect no kernel zone
        // -> default kernel zone Normal.
        Outcome o = m.set_state(23, OnlineType::Offline);
        REQUIRE(o.ok());
        CHECK(span(m, 0, Zone::DMA32).end_pfn == pfns(0, 21).second);
        CHECK(m.valid_zones(22) == "Normal Movable");
        CHECK(m.valid_zones(23) == "Normal Movable");
        CHECK(m.valid_zones(10) == "DMA32 Movable");
        CHECK(in_valid_zone_ranges(o.changes, 22));
        // Onlining 23 to the kernel now lands in Normal (the kernel does the same).
        REQUIRE(m.set_state(23, OnlineType::OnlineKernel).ok());
        CHECK(zone_of(m, 23) == Zone::Normal);
        CHECK(span(m, 0, Zone::Normal).start_pfn == pfns(23, 23).first);
        CHECK(span(m, 0, Zone::Normal).end_pfn == pfns(32, 39).second);
    }
    SECTION("DMA edge on s390x") {
        Machine s = make(s390x_spec());
        // Last DMA block (7) offlined: DMA now ends at 6, so the default kernel zone of 7 is
        // Normal; Normal spans 8..15 and 7 only touches it -> neither -> "Normal Movable".
        REQUIRE(s.set_state(7, OnlineType::Offline).ok());
        CHECK(s.valid_zones(7) == "Normal Movable");
        REQUIRE(s.set_state(6, OnlineType::Offline).ok());
        REQUIRE(s.set_state(5, OnlineType::Offline).ok());
        REQUIRE(s.set_online(7, true).ok());
        // DMA now ends below 5; 7 went to Normal (span grows down to 7). 6 and 5 intersect
        // neither DMA nor Normal -> "Normal Movable".
        CHECK(zone_of(s, 7) == Zone::Normal);
        CHECK(s.valid_zones(6) == "Normal Movable");
        CHECK(s.valid_zones(5) == "Normal Movable");
    }
}

TEST_CASE("spans grow as the union hull", "[zones]") {
    // node 0 Normal 32..39; onlining 100 to the kernel makes it 32..100 (hull), which swallows
    // the offline blocks 72..99: with movable_node they turn from Movable-first to Normal-first.
    Machine m = default_with_movable_node(true);
    CHECK(m.valid_zones(80) == "Movable Normal");
    Outcome o = m.set_state(100, OnlineType::OnlineKernel);
    REQUIRE(o.ok());
    CHECK(span(m, 0, Zone::Normal).start_pfn == pfns(32, 100).first);
    CHECK(span(m, 0, Zone::Normal).end_pfn == pfns(32, 100).second);
    CHECK(span(m, 0, Zone::Normal).present_pages == 9 * kPagesPerBlock);
    for (uint64_t id = 72; id <= 99; ++id) {
        INFO("block " << id);
        CHECK(m.valid_zones(id) == "Normal Movable");
        CHECK(in_valid_zone_ranges(o.changes, id));
    }
    for (uint64_t id = 101; id <= 103; ++id) CHECK(m.valid_zones(id) == "Movable Normal");

    // Movable: first block sets the span, the next one below extends it downwards.
    REQUIRE(m.set_state(90, OnlineType::OnlineMovable).ok());
    CHECK(span(m, 0, Zone::Movable).start_pfn == pfns(90, 90).first);
    CHECK(span(m, 0, Zone::Movable).end_pfn == pfns(90, 90).second);
    REQUIRE(m.set_state(80, OnlineType::OnlineMovable).ok());
    CHECK(span(m, 0, Zone::Movable).start_pfn == pfns(80, 90).first);
    CHECK(span(m, 0, Zone::Movable).end_pfn == pfns(80, 90).second);
    // 85 now lies in both Normal and Movable -> movable_node picks Movable.
    CHECK(m.valid_zones(85) == "Movable Normal");
    // 75 lies in Normal only.
    CHECK(m.valid_zones(75) == "Normal Movable");
}

TEST_CASE("spans shrink only at their edges", "[zones]") {
    Machine m = default_with_movable_node(true);
    REQUIRE(m.set_state(100, OnlineType::OnlineKernel).ok());

    // A middle block leaves: the span keeps its extent; the block still reads Normal-first.
    REQUIRE(m.set_state(36, OnlineType::Offline).ok());
    CHECK(span(m, 0, Zone::Normal).start_pfn == pfns(32, 100).first);
    CHECK(span(m, 0, Zone::Normal).end_pfn == pfns(32, 100).second);
    CHECK(m.valid_zones(36) == "Normal Movable");
    CHECK(m.valid_zones(80) == "Normal Movable");

    // The top edge leaves: the end moves down to the highest online Normal block of node 0
    // (39; node 1's blocks 40..71 do not count) and 72..99 fall outside again.
    Outcome o = m.set_state(100, OnlineType::Offline);
    REQUIRE(o.ok());
    CHECK(span(m, 0, Zone::Normal).end_pfn == pfns(32, 39).second);
    CHECK(span(m, 0, Zone::Normal).start_pfn == pfns(32, 39).first);
    for (uint64_t id = 72; id <= 100; ++id) {
        INFO("block " << id);
        CHECK(m.valid_zones(id) == "Movable Normal");
        CHECK(in_valid_zone_ranges(o.changes, id));
    }
    CHECK(m.valid_zones(36) == "Normal Movable");

    // The bottom edge leaves: the start moves up to 33; 32 now only touches the span.
    o = m.set_state(32, OnlineType::Offline);
    REQUIRE(o.ok());
    CHECK(span(m, 0, Zone::Normal).start_pfn == pfns(33, 39).first);
    CHECK(m.valid_zones(32) == "Movable Normal");
    CHECK(in_valid_zone_ranges(o.changes, 32));
    CHECK(span(m, 0, Zone::Normal).present_pages == 6 * kPagesPerBlock);
}

TEST_CASE("edge shrink skips offline blocks in the middle", "[zones]") {
    // Movable 80, 85, 90 on node 0; 85 leaves (middle, no shrink), then 90 leaves: the end
    // moves past the offline 85 down to 80.
    Machine m = default_machine();
    for (uint64_t id : {80ull, 85ull, 90ull}) REQUIRE(m.set_state(id, OnlineType::OnlineMovable).ok());
    REQUIRE(m.set_state(85, OnlineType::Offline).ok());
    CHECK(span(m, 0, Zone::Movable).end_pfn == pfns(80, 90).second);
    CHECK(m.valid_zones(85) == "Movable Normal");
    REQUIRE(m.set_state(90, OnlineType::Offline).ok());
    CHECK(span(m, 0, Zone::Movable).start_pfn == pfns(80, 80).first);
    CHECK(span(m, 0, Zone::Movable).end_pfn == pfns(80, 80).second);
    CHECK(m.valid_zones(85) == "Normal Movable");
    // The last Movable block leaves: the zone is empty again.
    REQUIRE(m.set_state(80, OnlineType::Offline).ok());
    CHECK(span(m, 0, Zone::Movable).empty());
    CHECK(span(m, 0, Zone::Movable).present_pages == 0);
    CHECK(m.valid_zones(80) == "Normal Movable");
}

TEST_CASE("a zone that loses all its memory becomes empty", "[zones]") {
    // Node 1's Normal: offline all 32 blocks, bottom-up; the span ends up empty, and every
    // block reads Normal-first again (neither zone intersects, no movable_node).
    Machine m = default_machine();
    for (uint64_t id = 40; id <= 71; ++id) REQUIRE(m.set_state(id, OnlineType::Offline).ok());
    CHECK(span(m, 1, Zone::Normal).empty());
    CHECK(span(m, 1, Zone::Normal).present_pages == 0);
    CHECK(m.node_present_pages(1) == 0);
    CHECK(m.valid_zones(55) == "Normal Movable");
    CHECK_FALSE(m.node_has_memory(1));
}

TEST_CASE("ppc64 has only Normal and Movable", "[zones]") {
    MachineSpec spec;
    spec.arch = Arch::Ppc64;
    spec.block_size = 256 * MiB;
    spec.nodes = plain_nodes(1);
    spec.memory = {boot(0, 2 * GiB), hot_offline(2 * GiB, 1 * GiB)};
    Machine m = make(spec);
    CHECK(m.valid_zones(0) == "Normal");
    CHECK(m.valid_zones(7) == "Normal");
    CHECK(m.valid_zones(8) == "Normal Movable");
    CHECK(span(m, 0, Zone::DMA).empty());
    CHECK(span(m, 0, Zone::DMA32).empty());
}

TEST_CASE("zone_fit: DMA and DMA32 only where the architecture has them, below their limit",
          "[zones]") {
    CHECK(zone_fit(Arch::X86_64, Zone::DMA, 16 * MiB) == ZoneFit::Fits);
    CHECK(zone_fit(Arch::X86_64, Zone::DMA, 16 * MiB + 1) == ZoneFit::AboveLimit);
    CHECK(zone_fit(Arch::X86_64, Zone::DMA32, 4 * GiB) == ZoneFit::Fits);
    CHECK(zone_fit(Arch::X86_64, Zone::DMA32, 5 * GiB) == ZoneFit::AboveLimit);
    CHECK(zone_fit(Arch::Arm64, Zone::DMA, 128 * MiB) == ZoneFit::NoSuchZone);
    CHECK(zone_fit(Arch::S390x, Zone::DMA, 2 * GiB) == ZoneFit::Fits);
    CHECK(zone_fit(Arch::S390x, Zone::DMA32, 256 * MiB) == ZoneFit::NoSuchZone);
    CHECK(zone_fit(Arch::Ppc64, Zone::DMA, 16 * MiB) == ZoneFit::NoSuchZone);
    for (Arch arch : {Arch::X86_64, Arch::Arm64, Arch::Ppc64, Arch::S390x})
        for (Zone zone : {Zone::Normal, Zone::Movable}) {
            CHECK(zone_fit(arch, zone, 128 * MiB) == ZoneFit::Fits);
            CHECK(zone_fit(arch, zone, UINT64_MAX) == ZoneFit::Fits);
        }
}
