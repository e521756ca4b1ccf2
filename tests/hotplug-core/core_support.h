// Helpers shared by the hotplug-core unit tests.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hotplug/machine.h"
#include "hotplug/spec.h"

namespace coretest {

using namespace hotplug;

inline constexpr uint64_t MiB = 1ull << 20;
inline constexpr uint64_t GiB = 1ull << 30;
inline constexpr uint64_t kBlock = 128 * MiB;
inline constexpr uint64_t kPagesPerBlock = kBlock / kPageSize;

inline Machine make(const MachineSpec& spec) {
    auto r = Machine::build(spec);
    INFO("build error: " << (r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    return std::move(r.value());
}

inline Machine default_machine() { return make(default_machine_spec()); }

// One node of `nodes` (ids 0..n-1) with no CPUs and default distances.
inline std::vector<NodeSpec> plain_nodes(int n) {
    std::vector<NodeSpec> out;
    for (int i = 0; i < n; ++i) out.push_back(NodeSpec{i, {}, {}, 0});
    return out;
}

inline MemoryRangeSpec boot(uint64_t start, uint64_t size, int node = 0) {
    return MemoryRangeSpec{start, size, node, true, false, {}};
}
inline MemoryRangeSpec boot_offline(uint64_t start, uint64_t size, int node = 0) {
    return MemoryRangeSpec{start, size, node, false, false, {}};
}
inline MemoryRangeSpec hot_offline(uint64_t start, uint64_t size, int node = 0) {
    return MemoryRangeSpec{start, size, node, false, true, {}};
}

// The machine of the reference capture: x86_64, 128 MiB blocks, one node, 3 GiB below the
// PCI hole (blocks 0-23) and 21 GiB above 4 GiB (blocks 32-199), all online.
inline MachineSpec reference_spec() {
    MachineSpec spec;
    spec.arch = Arch::X86_64;
    spec.block_size = kBlock;
    spec.nodes = plain_nodes(1);
    spec.memory = {boot(0, 3 * GiB), boot(4 * GiB, 21 * GiB)};
    return spec;
}

inline bool is_online(const Machine& m, uint64_t id) { return m.blocks().at(id).online(); }

inline std::optional<Zone> zone_of(const Machine& m, uint64_t id) {
    return m.blocks().at(id).single_zone();
}

inline std::vector<uint64_t> present_ids(const Machine& m) {
    std::vector<uint64_t> ids;
    for (auto id = m.blocks().next_present(0); id; id = m.blocks().next_present(*id + 1))
        ids.push_back(*id);
    return ids;
}

// valid_zones and state of every present block.
struct BlockView {
    std::string valid_zones;
    bool online = false;
    int node = 0;
    BlockState state = BlockState::Offline;  // `state` tells going-offline from online
};
inline std::map<uint64_t, BlockView> snapshot(const Machine& m) {
    std::map<uint64_t, BlockView> out;
    for (uint64_t id : present_ids(m))
        out[id] = BlockView{m.valid_zones(id), is_online(m, id), m.blocks().at(id).node,
                            m.blocks().at(id).block_state()};
    return out;
}

inline bool operator==(const BlockView& a, const BlockView& b) {
    return a.valid_zones == b.valid_zones && a.online == b.online && a.node == b.node &&
           a.state == b.state;
}

inline const ZoneSpan& span(const Machine& m, int node, Zone z) {
    return m.nodes().at(static_cast<size_t>(node)).zones[static_cast<size_t>(z)];
}

// A block range as the pfn span it covers.
inline std::pair<uint64_t, uint64_t> pfns(uint64_t first, uint64_t last_inclusive) {
    return {first * kPagesPerBlock, (last_inclusive + 1) * kPagesPerBlock};
}

inline std::vector<std::string> actions(const Outcome& o) {
    std::vector<std::string> out;
    for (const auto& e : o.events) out.push_back(e.action);
    return out;
}

inline std::vector<std::string> devpaths(const Outcome& o) {
    std::vector<std::string> out;
    for (const auto& e : o.events) out.push_back(e.devpath);
    return out;
}

inline std::string devpath(uint64_t id) {
    return "/devices/system/memory/memory" + std::to_string(id);
}

// Every event is a memory event and seqnums strictly increase from `after`.
inline void check_event_stream(const Outcome& o, uint64_t after) {
    uint64_t last = after;
    for (const auto& e : o.events) {
        CHECK(e.subsystem == "memory");
        CHECK(e.synth.empty());
        CHECK(e.seqnum > last);
        last = e.seqnum;
    }
}

inline bool contains(const std::vector<uint64_t>& v, uint64_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

inline bool contains_node(const std::vector<int>& v, int x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

inline bool in_valid_zone_ranges(const ChangeSet& c, uint64_t id) {
    for (const auto& [first, last] : c.valid_zones)
        if (id >= first && id <= last) return true;
    return false;
}

inline DeviceSpec dimm(std::string name, uint64_t start, uint64_t size, int node = 0,
                       bool plugged = false) {
    return DeviceSpec{std::move(name), DeviceKind::Dimm, node, start, size, 0,
                      plugged ? size : 0};
}
inline DeviceSpec virtio(std::string name, uint64_t start, uint64_t size, uint64_t unit,
                         uint64_t plugged, int node = 0) {
    return DeviceSpec{std::move(name), DeviceKind::VirtioMem, node, start, size, unit, plugged};
}

inline bool removed_contains(const ChangeSet& c, uint64_t id) {
    for (const auto& r : c.removed)
        if (r.id == id) return true;
    return false;
}

}  // namespace coretest
