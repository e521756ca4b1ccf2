// Machine::build: validates a MachineSpec and lays out boot and hot-added memory.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hotplug/machine.h"

namespace hotplug {
namespace {

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

std::string hex(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

Error invalid(std::string what) { return make_error(EINVAL, std::move(what)); }

std::optional<Error> check_range(const MachineSpec& spec, uint64_t start, uint64_t size, int node,
                                 const std::string& what) {
    if (size == 0) return invalid(what + " has size 0");
    if (start % spec.block_size || size % spec.block_size)
        return invalid(what + " [" + hex(start) + ", +" + hex(size) +
                       ") is not aligned to the block size " + hex(spec.block_size));
    if (start + size < start) return invalid(what + " wraps around the address space");
    if (node < 0 || node >= static_cast<int>(spec.nodes.size()))
        return invalid(what + " names node " + std::to_string(node) + ", which does not exist");
    return std::nullopt;
}

std::optional<Error> check_block_size(const MachineSpec& spec) {
    const uint64_t section = arch_section_size(spec.arch);
    if (!is_power_of_two(spec.block_size))
        return invalid("block size " + hex(spec.block_size) + " is not a power of two");
    if (spec.block_size % section != 0)
        return invalid("block size " + hex(spec.block_size) + " is not a multiple of the " +
                       std::string(arch_name(spec.arch)) + " section size " + hex(section));
    return std::nullopt;
}

std::optional<Error> check_pluggable(const MachineSpec& spec) {
    for (size_t i = 0; i < spec.pluggable.size(); ++i) {
        const auto& r = spec.pluggable[i];
        if (auto e = check_range(spec, r.start, r.size, r.node,
                                 "pluggable range " + std::to_string(i)))
            return e;
        for (size_t j = 0; j < i; ++j) {
            const auto& o = spec.pluggable[j];
            if (r.start < o.start + o.size && o.start < r.start + r.size)
                return invalid("pluggable ranges " + std::to_string(j) + " and " +
                               std::to_string(i) + " overlap");
        }
    }
    return std::nullopt;
}

// The zone boot memory at [start, end) is in when no zone is configured: the first the range
// touches, and whether it touches more than one (then it is managed by several zones).
std::pair<Zone, bool> boot_zone(Arch arch, uint64_t start, uint64_t end) {
    Zone zone = Zone::Normal;
    int zones_touched = 0;
    uint64_t lower = 0;
    for (int z = 0; z < static_cast<int>(Zone::Movable); ++z) {
        const uint64_t limit = arch_zone_limit(arch, static_cast<Zone>(z));
        if (limit <= lower) continue;
        if (start < limit && end > lower) {
            if (zones_touched == 0) zone = static_cast<Zone>(z);
            ++zones_touched;
        }
        lower = std::max(lower, limit);
    }
    return {zone, zones_touched > 1};
}

}  // namespace

std::optional<Error> Machine::build_nodes(const MachineSpec& spec) {
    if (spec.nodes.empty()) return invalid("a machine needs at least one node");
    for (size_t i = 0; i < spec.nodes.size(); ++i) {
        if (spec.nodes[i].id != static_cast<int>(i))
            return invalid("node ids must be 0.." + std::to_string(spec.nodes.size() - 1) +
                           " in order; found " + std::to_string(spec.nodes[i].id));
        NodeInfo info;
        info.spec = spec.nodes[i];
        if (info.spec.distance.empty())
            for (size_t j = 0; j < spec.nodes.size(); ++j)
                info.spec.distance.push_back(i == j ? 10 : 20);
        if (info.spec.distance.size() != spec.nodes.size())
            return invalid("node " + std::to_string(i) + " distance must list " +
                           std::to_string(spec.nodes.size()) + " values");
        if (info.spec.adistance && *info.spec.adistance < 0)
            return invalid("node " + std::to_string(i) + " adistance " +
                           std::to_string(*info.spec.adistance) + " is negative");
        for (int cpu : info.spec.cpus) {
            if (cpu < 0 || cpu >= kNrCpus)
                return invalid("node " + std::to_string(i) + " lists cpu " + std::to_string(cpu) +
                               "; cpu ids are 0.." + std::to_string(kNrCpus - 1));
            if (cpu >= static_cast<int>(cpu_nodes_.size())) cpu_nodes_.resize(cpu + 1, -1);
            if (cpu_nodes_[cpu] >= 0)
                return invalid("cpu " + std::to_string(cpu) + " belongs to node " +
                               std::to_string(cpu_nodes_[cpu]) + " and node " +
                               std::to_string(i));
            cpu_nodes_[cpu] = static_cast<int>(i);
        }
        nodes_.push_back(std::move(info));
    }
    return std::nullopt;
}

std::optional<Error> Machine::build_memory_range(const MachineSpec& spec, size_t index) {
    const auto& r = spec.memory[index];
    const std::string what = "memory range " + std::to_string(index);
    if (auto e = check_range(spec, r.start, r.size, r.node, what)) return e;
    const uint64_t first = r.start / spec.block_size;
    const uint64_t count = r.size / spec.block_size;
    for (uint64_t id = first; id < first + count; ++id)
        if (blocks_.present(id))
            return invalid(what + " overlaps other memory at block " + std::to_string(id));
    for (uint64_t id = first; id < first + count; ++id) {
        Block& b = blocks_.ensure(id);
        b.present = 1;
        b.node = static_cast<uint16_t>(r.node);
        b.hotplugged = r.hotplugged ? 1 : 0;
        blocks_.note_added();
    }
    if (!r.online) return std::nullopt;
    for (uint64_t id = first; id < first + count; ++id) {
        ChangeSet ignored;
        const uint64_t start = id * spec.block_size;
        auto [zone, multi] = boot_zone(spec.arch, start, start + spec.block_size);
        if (r.zone) zone = *r.zone, multi = false;
        if (multi) {
            for (int z = 0; z < static_cast<int>(Zone::Movable); ++z)
                account(id, static_cast<Zone>(z), true, true, ignored);
            blocks_.at(id).zone = Block::kMultiZone;
        } else {
            account(id, zone, false, true, ignored);
            blocks_.at(id).zone = static_cast<uint8_t>(zone);
        }
        blocks_.at(id).state = static_cast<uint8_t>(BlockState::Online);
    }
    return std::nullopt;
}

std::optional<Error> Machine::build_block_marks(const MachineSpec& spec) {
    auto mark = [&](const std::vector<uint64_t>& ids, const char* what,
                    auto apply) -> std::optional<Error> {
        for (uint64_t id : ids) {
            if (!blocks_.present(id))
                return invalid(std::string(what) + " names block " + std::to_string(id) +
                               ", which is not present");
            apply(blocks_.at(id));
        }
        return std::nullopt;
    };
    if (auto e = mark(spec.holes, "holes", [](Block& b) { b.holes = 1; })) return e;
    if (auto e = mark(spec.unmovable, "unmovable", [](Block& b) { b.unmovable = 1; })) return e;
    if (auto e = mark(spec.multi_zone, "multi_zone", [](Block& b) {
            if (b.online()) b.zone = Block::kMultiZone;
        }))
        return e;
    for (const auto& f : spec.block_faults) {
        const std::string what = "block fault for block " + std::to_string(f.block);
        if (!blocks_.present(f.block)) return invalid(what + ": the block is not present");
        if (f.migration_ms < -1)
            return invalid(what + ": migration_ms must be -1 (forever) or >= 0");
        if (f.unmovable) blocks_.at(f.block).unmovable = 1;
        if (f.migration_ms) faults_[f.block].migration_ms = f.migration_ms;
    }
    return std::nullopt;
}

Result<Machine> Machine::build(const MachineSpec& spec) {
    Machine m;
    m.arch_ = spec.arch;
    m.block_size_ = spec.block_size;
    if (auto e = check_block_size(spec)) return *e;
    if (spec.storage_increment && !is_power_of_two(spec.storage_increment))
        return invalid("storage increment " + hex(spec.storage_increment) +
                       " is not a power of two");
    m.removable_ = spec.removable;
    m.storage_increment_ = spec.storage_increment;
    if (auto e = m.build_nodes(spec)) return *e;
    m.params_ = spec.params;
    if (auto e = check_pluggable(spec)) return *e;
    m.pluggable_ = spec.pluggable;
    // Boot memory first (so zone spans and early pages exist), then hot-added memory.
    std::vector<size_t> order(spec.memory.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return !spec.memory[a].hotplugged && spec.memory[b].hotplugged;
    });
    for (size_t i : order)
        if (auto e = m.build_memory_range(spec, i)) return *e;
    // Devices after all memory, so that a device overlapping memory is caught.
    for (const auto& d : spec.devices)
        if (auto e = m.add_device(d)) return *e;
    if (auto e = m.build_block_marks(spec)) return *e;
    return m;
}

}  // namespace hotplug
