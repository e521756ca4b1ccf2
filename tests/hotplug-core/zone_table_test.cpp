// Zone selection, table-driven (§5): for each policy and scenario, the valid_zones of every
// affected block and the zone a plain `online` then picks. Expectations are worked out by hand
// from the spec's rules; steps run in order, so later rows see the earlier onlines.
//
// The one-node machine: x86_64, 128 MiB blocks (8 per GiB), boot memory 0-3 GiB (blocks 0-23,
// DMA/DMA32) and 4-5 GiB (blocks 32-39, Normal) = 32 blocks of KERNEL_EARLY; pluggable space
// 5-64 GiB. The two-node machine adds node 1 with 1 GiB of boot memory (blocks 40-47), and
// its pluggable space (8-64 GiB) belongs to node 1.
#include "core_support.h"

#include <functional>

using namespace coretest;

namespace {

enum class Layout { OneNode, TwoNodes };

struct Step {
    uint64_t block;
    std::string valid_zones;  // before onlining it
    Zone zone;                // what `online` (set_online(block, true)) picks
};

struct Row {
    const char* name;
    Layout layout;
    OnlinePolicy policy;
    unsigned ratio;
    bool movable_node;
    bool numa_aware;
    std::vector<DeviceSpec> devices;
    std::function<void(Machine&)> setup;
    std::vector<Step> steps;
};

MachineSpec layout_spec(Layout layout) {
    MachineSpec spec;
    if (layout == Layout::OneNode) {
        spec.nodes = plain_nodes(1);
        spec.memory = {boot(0, 3 * GiB), boot(4 * GiB, 1 * GiB)};
        spec.pluggable = {PluggableRangeSpec{5 * GiB, 59 * GiB, 0}};
    } else {
        spec.nodes = plain_nodes(2);
        spec.memory = {boot(0, 3 * GiB, 0), boot(4 * GiB, 1 * GiB, 0), boot(5 * GiB, 1 * GiB, 1)};
        spec.pluggable = {PluggableRangeSpec{8 * GiB, 56 * GiB, 1}};
    }
    return spec;
}

constexpr auto Contig = OnlinePolicy::ContigZones;
constexpr auto Auto = OnlinePolicy::AutoMovable;

// Setup helpers: each must succeed.
auto offline(std::vector<uint64_t> ids) {
    return [ids](Machine& m) {
        for (uint64_t id : ids) REQUIRE(m.set_state(id, OnlineType::Offline).ok());
    };
}
void plug(Machine& m, const std::string& name) {
    REQUIRE(m.plug_device(name).ok());
}
void online_as(Machine& m, uint64_t first, uint64_t last, OnlineType type) {
    for (uint64_t id = first; id <= last; ++id) REQUIRE(m.set_state(id, type).ok());
}
// Hot-adds `count` blocks at 8 GiB (block 64 on) and onlines the first `movable` of them
// to Movable: plain memory without a group.
void plain_movable(Machine& m, uint64_t count, uint64_t movable) {
    REQUIRE(m.add_memory(8 * GiB, count * kBlock, 0).ok());
    online_as(m, 64, 64 + movable - 1, OnlineType::OnlineMovable);
}

const DeviceSpec kDimmNextToNormal = dimm("dimm0", 5 * GiB, 1 * GiB);  // blocks 40-47
const DeviceSpec kDimmFar = dimm("dimm0", 16 * GiB, 1 * GiB);          // blocks 128-135
const DeviceSpec kDimmFar6G = dimm("dimm0", 16 * GiB, 6 * GiB);        // blocks 128-175
const DeviceSpec kDimmFar4G = dimm("dimm0", 16 * GiB, 4 * GiB);        // blocks 128-159
const DeviceSpec kDimmNode1 = dimm("dimm1", 8 * GiB, 4 * GiB, 1);      // blocks 64-95
// Units of 512 MiB (4 blocks); 1 GiB plugged: blocks 128-131 and 132-135.
const DeviceSpec kVirtio = virtio("vmem0", 16 * GiB, 4 * GiB, 512 * MiB, 1 * GiB);
const DeviceSpec kVirtio2 = virtio("vmem1", 24 * GiB, 1 * GiB, 512 * MiB, 512 * MiB);

std::vector<Row> rows() {
    auto plug0 = [](Machine& m) { plug(m, "dimm0"); };
    // One scenario per row reads better than one field per line:
    // clang-format off
    return {
        // Boot memory only, contig-zones: an offlined block inside a zone's span returns to it.
        {"boot only, contig", Layout::OneNode, Contig, 301, false, true, {}, offline({35, 10}),
         {{35, "Normal Movable", Zone::Normal}, {10, "DMA32 Movable", Zone::DMA32}}},
        // Boot memory only, auto-movable: 1 block movable <= 301% of 30 early blocks -> Movable.
        {"boot only, auto-movable", Layout::OneNode, Auto, 301, false, true, {}, offline({35, 10}),
         {{35, "Movable Normal", Zone::Movable}, {10, "Movable DMA32", Zone::Movable}}},
        // DIMM right after Normal, contig: touching a span's end is not intersecting -> kernel.
        {"dimm next to Normal, contig", Layout::OneNode, Contig, 301, false, true,
         {kDimmNextToNormal}, plug0,
         {{40, "Normal Movable", Zone::Normal},
          {47, "Normal Movable", Zone::Normal},
          {41, "Normal Movable", Zone::Normal}}},
        // Same with movable_node: intersects nothing -> Movable; later inside Movable's hull.
        {"dimm next to Normal, movable_node", Layout::OneNode, Contig, 301, true, true,
         {kDimmNextToNormal}, plug0,
         {{40, "Movable Normal", Zone::Movable},
          {47, "Movable Normal", Zone::Movable},
          {41, "Movable Normal", Zone::Movable}}},
        // Same DIMM, auto-movable: the whole 8-block group fits 301% of 32 -> Movable.
        {"dimm next to Normal, auto-movable", Layout::OneNode, Auto, 301, false, true,
         {kDimmNextToNormal}, plug0,
         {{40, "Movable Normal", Zone::Movable}, {47, "Movable Normal", Zone::Movable}}},
        // DIMM far above all memory, contig: intersects nothing, no movable_node -> Normal.
        {"dimm far above, contig", Layout::OneNode, Contig, 301, false, true, {kDimmFar}, plug0,
         {{128, "Normal Movable", Zone::Normal}, {135, "Normal Movable", Zone::Normal}}},
        // Same DIMM, auto-movable 301: 8 blocks <= 96.32 -> Movable.
        {"dimm far above, auto-movable", Layout::OneNode, Auto, 301, false, true, {kDimmFar}, plug0,
         {{128, "Movable Normal", Zone::Movable}, {135, "Movable Normal", Zone::Movable}}},
        // movable_node, contig: intersects nothing -> Movable, also for blocks past the hull.
        {"movable_node, contig", Layout::OneNode, Contig, 301, true, true, {kDimmFar}, plug0,
         {{128, "Movable Normal", Zone::Movable}, {135, "Movable Normal", Zone::Movable}}},
        // movable_node is ignored by auto-movable: ratio 0 still means kernel.
        {"movable_node, auto-movable ratio 0", Layout::OneNode, Auto, 0, true, true, {kDimmFar},
         plug0, {{128, "Normal Movable", Zone::Normal}}},
        // Ratio 301: a 6 GiB DIMM (48 blocks) <= 96.32 blocks -> Movable, first to last.
        {"ratio 301, 6 GiB DIMM", Layout::OneNode, Auto, 301, false, true, {kDimmFar6G}, plug0,
         {{128, "Movable Normal", Zone::Movable}, {175, "Movable Normal", Zone::Movable}}},
        // Ratio 100: 1 plain block fits; then 1 + 48 > 32 -> Normal, and the DIMM stays kernel.
        {"ratio 100, 6 GiB DIMM", Layout::OneNode, Auto, 100, false, true, {kDimmFar6G},
         [](Machine& m) {
             plug(m, "dimm0");
             REQUIRE(m.probe(8 * GiB).ok());
         },
         {{64, "Movable Normal", Zone::Movable},
          {128, "Normal Movable", Zone::Normal},
          {175, "Normal Movable", Zone::Normal}}},
        // Ratio 100, a 32-block DIMM: 32 <= 100% x 32 holds (the bound is inclusive) -> Movable.
        {"ratio 100, 4 GiB DIMM", Layout::OneNode, Auto, 100, false, true, {kDimmFar4G}, plug0,
         {{128, "Movable Normal", Zone::Movable}, {159, "Movable Normal", Zone::Movable}}},
        // Ratio 0: always the kernel zone.
        {"ratio 0", Layout::OneNode, Auto, 0, false, true, {kDimmFar}, plug0,
         {{128, "Normal Movable", Zone::Normal}, {135, "Normal Movable", Zone::Normal}}},
        // Two nodes, numa-aware: 32 blocks on node 1 > 301% of its 8 early blocks -> Normal.
        {"numa-aware on", Layout::TwoNodes, Auto, 301, false, true, {kDimmNode1},
         [](Machine& m) { plug(m, "dimm1"); },
         {{64, "Normal Movable", Zone::Normal}, {95, "Normal Movable", Zone::Normal}}},
        // Numa-aware off: 32 <= 301% of 40 system-wide -> Movable.
        {"numa-aware off", Layout::TwoNodes, Auto, 301, false, false, {kDimmNode1},
         [](Machine& m) { plug(m, "dimm1"); },
         {{64, "Movable Normal", Zone::Movable}, {95, "Movable Normal", Zone::Movable}}},
        // Two nodes, contig: node 1's DIMM intersects none of node 1's zones -> Normal.
        {"two nodes, contig", Layout::TwoNodes, Contig, 301, false, true, {kDimmNode1},
         [](Machine& m) { plug(m, "dimm1"); }, {{64, "Normal Movable", Zone::Normal}}},
        // virtio-mem, auto-movable: a unit holding a Normal block stays kernel; the next fits.
        {"virtio-mem unit partly Normal, auto-movable", Layout::OneNode, Auto, 301, false, true,
         {kVirtio}, [](Machine& m) { online_as(m, 129, 129, OnlineType::OnlineKernel); },
         {{128, "Normal Movable", Zone::Normal},
          {130, "Normal Movable", Zone::Normal},
          {132, "Movable Normal", Zone::Movable},
          {133, "Movable Normal", Zone::Movable}}},
        // virtio-mem, contig: 128 is inside Normal's hull (blocks 32-129), 132 beyond -> Normal.
        {"virtio-mem unit partly Normal, contig", Layout::OneNode, Contig, 301, false, true,
         {kVirtio}, [](Machine& m) { online_as(m, 129, 129, OnlineType::OnlineKernel); },
         {{128, "Normal Movable", Zone::Normal}, {132, "Normal Movable", Zone::Normal}}},
        // Ratio 100, 30 plain movable: vmem0's own 2 Normal blocks let its unit fit (34 <= 34).
        {"virtio-mem own kernel memory, ratio 100", Layout::OneNode, Auto, 100, false, true,
         {kVirtio},
         [](Machine& m) {
             plain_movable(m, 31, 30);
             online_as(m, 128, 129, OnlineType::OnlineKernel);
         },
         {{132, "Movable Normal", Zone::Movable},
          {133, "Movable Normal", Zone::Movable},
          {94, "Movable Normal", Zone::Movable}}},
        // Ratio 100: vmem0's 4 movable are paid by its 4 Normal, so vmem1's unit fits 26+4 <= 32.
        {"other virtio-mem groups pay their own way, ratio 100", Layout::OneNode, Auto, 100, false,
         true, {kVirtio, kVirtio2},
         [](Machine& m) {
             plain_movable(m, 26, 26);
             online_as(m, 128, 131, OnlineType::OnlineKernel);
             online_as(m, 132, 135, OnlineType::OnlineMovable);
         },
         {{192, "Movable Normal", Zone::Movable}, {193, "Movable Normal", Zone::Movable}}},
    };
    // clang-format on
}

}  // namespace

TEST_CASE("zone selection table: valid_zones and the zone `online` picks", "[zones][table]") {
    for (const Row& row : rows()) {
        DYNAMIC_SECTION(row.name) {
            MachineSpec spec = layout_spec(row.layout);
            spec.devices = row.devices;
            spec.params.online_policy = row.policy;
            spec.params.auto_movable_ratio = row.ratio;
            spec.params.movable_node = row.movable_node;
            spec.params.auto_movable_numa_aware = row.numa_aware;
            Machine m = make(spec);
            if (row.setup) row.setup(m);
            for (const Step& step : row.steps) {
                INFO("block " << step.block);
                REQUIRE(m.blocks().present(step.block));
                REQUIRE_FALSE(is_online(m, step.block));
                CHECK(m.valid_zones(step.block) == step.valid_zones);
                CHECK(m.zone_for_online(step.block, OnlineType::Online) == step.zone);
                Outcome o = m.set_online(step.block, true);
                REQUIRE(o.ok());
                CHECK(zone_of(m, step.block) == step.zone);
                CHECK(m.valid_zones(step.block) == zone_name(step.zone));
            }
        }
    }
}
