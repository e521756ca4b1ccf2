// Topology sections of the config: block size, nodes, memory and pluggable ranges, and the
// block-id lists. The checks mirror what Machine::build requires, but fail at the exact value.
#include "config/config_sections.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <string>

namespace hotplugfs::config::detail {
namespace {

constexpr uint64_t kMaxDistance = 255;  // node distances are one byte in the kernel

bool is_power_of_two(uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

std::string extent_text(uint64_t start, uint64_t size) {
    std::string out("[");
    out.append(hex(start)).append(", ").append(hex(start + size)).append(")");
    return out;
}

// A CPU belongs to one node only; remembers which node took each CPU so far.
class CpuOwners {
  public:
    void claim(const Value& cpus, const std::vector<uint64_t>& ids, size_t node) {
        for (uint64_t cpu : ids) {
            int& owner = owner_[cpu];
            if (owner >= 0 && static_cast<size_t>(owner) != node)
                cpus.fail("cpu " + std::to_string(cpu) + " already belongs to node " +
                          std::to_string(owner));
            owner = static_cast<int>(node);
        }
    }

  private:
    std::vector<int> owner_ = std::vector<int>(kMaxCpuId + 1, -1);
};

std::vector<int> parse_distance(const Value& value, size_t node_count) {
    const std::vector<Value> elements = value.elements();
    if (elements.size() != node_count)
        value.fail("must list " + std::to_string(node_count) + " distance(s), one per node, not " +
                   std::to_string(elements.size()));
    std::vector<int> distance;
    for (const Value& element : elements)
        distance.push_back(static_cast<int>(to_uint(element, kMaxDistance)));
    return distance;
}

hotplug::NodeSpec parse_node(const Value& value, size_t index, size_t node_count,
                             CpuOwners& owners) {
    const Fields fields(value, {"id", "cpus", "distance", "kernel_used", "adistance"});
    hotplug::NodeSpec node;
    node.id = static_cast<int>(index);
    if (auto v = fields.get("id"); v && to_uint(*v, kMaxNodes) != index)
        v->fail("node id " + v->json().dump() + " must equal its position " +
                std::to_string(index) + " in /nodes (node ids are 0..n-1 in order)");
    if (auto v = fields.get("cpus")) {
        const std::vector<uint64_t> cpus = to_id_list(*v, kMaxCpuId);
        owners.claim(*v, cpus, index);
        node.cpus.assign(cpus.begin(), cpus.end());
    }
    if (auto v = fields.get("distance")) node.distance = parse_distance(*v, node_count);
    if (auto v = fields.get("kernel_used")) {
        const uint64_t bytes = to_size(*v);
        if (bytes % 1024) v->fail(hex(bytes) + " bytes is not a whole number of KiB");
        node.kernel_used_kb = bytes / 1024;
    }
    if (auto v = fields.get("adistance")) node.adistance = static_cast<int>(to_uint(*v, INT_MAX));
    return node;
}

// Start and size of a range, block-aligned and inside the supported block ids.
std::pair<uint64_t, uint64_t> parse_extent(const Fields& fields, uint64_t block_size) {
    const Value start_value = fields.require("start");
    const Value size_value = fields.require("size");
    const uint64_t start = to_size(start_value);
    const uint64_t size = to_size(size_value);
    const std::string not_aligned = " is not a multiple of the block size " + hex(block_size);
    if (start % block_size) start_value.fail(hex(start) + not_aligned);
    if (size == 0) size_value.fail("a range must not be empty");
    if (size % block_size) size_value.fail(hex(size) + not_aligned);
    if (start + size < start) size_value.fail("the range wraps around the 64-bit address space");
    const std::string limit = "block id " + std::to_string(kMaxBlockIds) + " (" +
                              hex(kMaxBlockIds * block_size) + " with this block size)";
    if (start / block_size >= kMaxBlockIds)
        start_value.fail(hex(start) + " is at or above " + limit);
    if ((start + size) / block_size > kMaxBlockIds)
        size_value.fail("the range " + extent_text(start, size) + " reaches above " + limit);
    return {start, size};
}

int parse_node_ref(const Fields& fields, size_t node_count) {
    const auto value = fields.get("node");
    if (!value) return 0;
    const uint64_t node = to_uint(*value, UINT64_MAX);
    if (node >= node_count)
        value->fail("node " + std::to_string(node) + " does not exist (nodes are 0.." +
                    std::to_string(node_count - 1) + ")");
    return static_cast<int>(node);
}

// An explicit zone must be one the range can really be in on this architecture.
hotplug::Zone parse_zone(const Value& value, const hotplug::MemoryRangeSpec& range,
                         hotplug::Arch arch) {
    const hotplug::Zone zone = to_zone(value);
    const std::string name(hotplug::zone_name(zone));
    if (!range.online)
        value.fail("only online memory has a zone; drop \"zone\" or make the range online");
    switch (hotplug::zone_fit(arch, zone, range.start + range.size)) {
        case hotplug::ZoneFit::Fits: break;
        case hotplug::ZoneFit::NoSuchZone:
            value.fail(std::string(hotplug::arch_name(arch)) + " has no " + name + " zone");
        case hotplug::ZoneFit::AboveLimit:
            value.fail("the range " + extent_text(range.start, range.size) + " reaches above the " +
                       name + " limit " + hex(hotplug::arch_zone_limit(arch, zone)));
    }
    return zone;
}

hotplug::MemoryRangeSpec parse_memory_range(const Value& value, const Layout& layout) {
    const Fields fields(value, {"start", "size", "node", "state", "hotplugged", "zone"});
    hotplug::MemoryRangeSpec range;
    std::tie(range.start, range.size) = parse_extent(fields, layout.block_size);
    range.node = parse_node_ref(fields, layout.node_count);
    if (auto v = fields.get("state")) range.online = to_online_state(*v);
    if (auto v = fields.get("hotplugged")) range.hotplugged = to_bool(*v);
    if (auto v = fields.get("zone")) range.zone = parse_zone(*v, range, layout.arch);
    return range;
}

hotplug::PluggableRangeSpec parse_pluggable_range(const Value& value, const Layout& layout) {
    const Fields fields(value, {"start", "size", "node"});
    hotplug::PluggableRangeSpec range;
    std::tie(range.start, range.size) = parse_extent(fields, layout.block_size);
    range.node = parse_node_ref(fields, layout.node_count);
    return range;
}

// Fails at the later (in file order) of the first two ranges found to overlap.
template <class Range>
void check_disjoint(const std::vector<Range>& ranges, const std::vector<Value>& items) {
    std::vector<size_t> order(ranges.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return ranges[a].start < ranges[b].start; });
    std::optional<size_t> reach;  // the range that extends furthest among those seen
    for (size_t i : order) {
        if (reach && ranges[i].start < ranges[*reach].start + ranges[*reach].size) {
            const size_t later = std::max(i, *reach), earlier = std::min(i, *reach);
            items[later].fail("the range " + extent_text(ranges[later].start, ranges[later].size) +
                              " overlaps " + items[earlier].path() + " " +
                              extent_text(ranges[earlier].start, ranges[earlier].size));
        }
        if (!reach || ranges[i].start + ranges[i].size > ranges[*reach].start + ranges[*reach].size)
            reach = i;
    }
}

// Why `range` (which holds the block, or is null) does not satisfy `need`; empty if it does.
std::string block_list_problem(uint64_t block, const hotplug::MemoryRangeSpec* range,
                               BlockNeed need) {
    const std::string name = "block " + std::to_string(block);
    if (!range)
        return name + " is not present (no memory range or plugged device memory holds it)";
    if (need != BlockNeed::Present && range->hotplugged)
        return name + " is hot-added memory; only boot memory qualifies";
    if (need == BlockNeed::OnlineBoot && !range->online)
        return name + " is offline; only online boot memory can be managed by several zones";
    return {};
}

bool inside_pluggable(uint64_t start, uint64_t size,
                      const std::vector<hotplug::PluggableRangeSpec>& pluggable) {
    for (const auto& r : pluggable)
        if (start >= r.start && size <= r.size && start - r.start <= r.size - size) return true;
    return false;
}

// A device name becomes a directory in the debug tree.
void check_device_name(const Value& value, const std::string& name) {
    if (name.empty()) value.fail("a device name must not be empty");
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
            value.fail("device name \"" + name +
                       "\" may only hold letters, digits, '-', '_' and '.'");
    if (name == "." || name == "..") value.fail("\"" + name + "\" is not a usable device name");
}

hotplug::DeviceSpec parse_device(const Value& value, const Layout& layout) {
    const Fields fields(value, {"name", "kind", "node", "start", "size", "unit", "plugged"});
    hotplug::DeviceSpec device;
    const Value name = fields.require("name");
    device.name = to_string(name);
    check_device_name(name, device.name);
    if (auto v = fields.get("kind")) device.kind = to_device_kind(*v);
    const bool virtio = device.kind == hotplug::DeviceKind::VirtioMem;
    device.node = parse_node_ref(fields, layout.node_count);
    std::tie(device.start, device.size) = parse_extent(fields, layout.block_size);
    device.unit = virtio ? layout.block_size : 0;
    if (auto v = fields.get("unit")) {
        if (!virtio) v->fail("only virtio-mem devices have a unit; a DIMM is plugged whole");
        device.unit = to_size(*v);
        if (device.unit == 0 || device.unit % layout.block_size)
            v->fail(hex(device.unit) + " is not a non-zero multiple of the block size " +
                    hex(layout.block_size));
    }
    if (virtio && device.start % device.unit)
        fields.require("start").fail(hex(device.start) + " is not a multiple of the unit " +
                                     hex(device.unit));
    if (virtio && device.size % device.unit)
        fields.require("size").fail(hex(device.size) + " is not a multiple of the unit " +
                                    hex(device.unit));
    if (auto v = fields.get("plugged")) {
        device.plugged = to_size(*v);
        if (!virtio && device.plugged != 0 && device.plugged != device.size)
            v->fail("a DIMM is plugged whole: 0 or its size " + hex(device.size));
        if (virtio && device.plugged % device.unit)
            v->fail(hex(device.plugged) + " is not a multiple of the unit " + hex(device.unit));
        if (virtio && device.plugged > device.size)
            v->fail(hex(device.plugged) + " is more than the device size " + hex(device.size));
    }
    return device;
}

// Milliseconds, or -1 for a migration that never finishes.
int64_t to_migration_ms(const Value& value) {
    const Json& json = value.json();
    if (json.is_number_integer() && !json.is_number_unsigned() && json.get<int64_t>() == -1)
        return -1;
    if (!json.is_number_unsigned())
        value.fail("expected milliseconds (a non-negative integer) or -1 (never finishes), got " +
                   json.dump());
    return static_cast<int64_t>(to_uint(value, INT64_MAX));
}

}  // namespace

std::vector<hotplug::MemoryRangeSpec> present_ranges(const hotplug::MachineSpec& spec) {
    std::vector<hotplug::MemoryRangeSpec> ranges = spec.memory;
    for (const auto& d : spec.devices)
        if (d.plugged) ranges.push_back(hotplug::MemoryRangeSpec{d.start, d.plugged, d.node,
                                                                 false, true, std::nullopt});
    return ranges;
}

std::vector<hotplug::DeviceSpec> parse_devices(const Value& value, const Layout& layout,
                                               const hotplug::MachineSpec& spec) {
    const std::vector<Value> items = value.elements();
    std::vector<hotplug::DeviceSpec> devices;
    for (size_t i = 0; i < items.size(); ++i) {
        hotplug::DeviceSpec device = parse_device(items[i], layout);
        for (size_t j = 0; j < devices.size(); ++j)
            if (devices[j].name == device.name)
                Value(items[i].json().at("name"), pointer_append(items[i].path(), "name"))
                    .fail("device name \"" + device.name + "\" is already used by " +
                          items[j].path());
        const std::string extent = extent_text(device.start, device.size);
        if (!inside_pluggable(device.start, device.size, spec.pluggable))
            items[i].fail("the range " + extent + " does not lie inside one /pluggable range");
        for (size_t k = 0; k < spec.memory.size(); ++k) {
            const auto& m = spec.memory[k];
            if (device.start < m.start + m.size && m.start < device.start + device.size)
                items[i].fail("the range " + extent + " overlaps /memory/" + std::to_string(k) +
                              " " + extent_text(m.start, m.size));
        }
        devices.push_back(std::move(device));
    }
    check_disjoint(devices, items);
    return devices;
}

std::vector<hotplug::BlockFaultSpec> parse_block_faults(const Value& value,
                                                        const PresentBlocks& present) {
    const std::vector<Value> items = value.elements();
    std::vector<hotplug::BlockFaultSpec> faults;
    for (size_t i = 0; i < items.size(); ++i) {
        const Fields fields(items[i], {"block", "migration_ms", "unmovable"});
        const Value block = fields.require("block");
        hotplug::BlockFaultSpec fault;
        fault.block = to_uint(block, kMaxBlockIds - 1);
        const std::string problem =
            block_list_problem(fault.block, present.find(fault.block), BlockNeed::Present);
        if (!problem.empty()) block.fail(problem);
        for (size_t j = 0; j < faults.size(); ++j)
            if (faults[j].block == fault.block)
                block.fail("block " + std::to_string(fault.block) + " already has an entry at " +
                           items[j].path());
        if (auto v = fields.get("migration_ms")) fault.migration_ms = to_migration_ms(*v);
        if (auto v = fields.get("unmovable")) fault.unmovable = to_bool(*v);
        faults.push_back(fault);
    }
    return faults;
}

uint64_t parse_block_size(const Value& value, hotplug::Arch arch) {
    const uint64_t size = to_size(value);
    const uint64_t section = hotplug::arch_section_size(arch);
    if (!is_power_of_two(size)) value.fail(hex(size) + " is not a power of two");
    if (size % section)
        value.fail(hex(size) + " is not a multiple of the " +
                   std::string(hotplug::arch_name(arch)) + " section size " + hex(section));
    return size;
}

std::vector<hotplug::NodeSpec> parse_nodes(const std::optional<Value>& value) {
    if (!value) return {hotplug::NodeSpec{}};
    const std::vector<Value> elements = value->elements();
    if (elements.empty()) value->fail("a machine needs at least one node");
    if (elements.size() > kMaxNodes)
        value->fail("at most " + std::to_string(kMaxNodes) + " nodes are supported");
    CpuOwners owners;
    std::vector<hotplug::NodeSpec> nodes;
    for (size_t i = 0; i < elements.size(); ++i)
        nodes.push_back(parse_node(elements[i], i, elements.size(), owners));
    return nodes;
}

std::vector<hotplug::MemoryRangeSpec> parse_memory(const Value& value, const Layout& layout) {
    const std::vector<Value> items = value.elements();
    std::vector<hotplug::MemoryRangeSpec> ranges;
    for (const Value& item : items) ranges.push_back(parse_memory_range(item, layout));
    check_disjoint(ranges, items);
    return ranges;
}

std::vector<hotplug::PluggableRangeSpec> parse_pluggable(const Value& value, const Layout& layout) {
    const std::vector<Value> items = value.elements();
    std::vector<hotplug::PluggableRangeSpec> ranges;
    for (const Value& item : items) ranges.push_back(parse_pluggable_range(item, layout));
    check_disjoint(ranges, items);
    return ranges;
}

PresentBlocks::PresentBlocks(const std::vector<hotplug::MemoryRangeSpec>& memory,
                             uint64_t block_size) {
    for (const auto& range : memory)
        spans_.push_back(
            Span{range.start / block_size, (range.start + range.size) / block_size, &range});
    std::sort(spans_.begin(), spans_.end(),
              [](const Span& a, const Span& b) { return a.first < b.first; });
}

const hotplug::MemoryRangeSpec* PresentBlocks::find(uint64_t block) const {
    // The last span starting at or before `block` is the only one that can hold it.
    auto it = std::upper_bound(spans_.begin(), spans_.end(), block,
                               [](uint64_t id, const Span& span) { return id < span.first; });
    if (it == spans_.begin()) return nullptr;
    --it;
    return block < it->end ? it->range : nullptr;
}

std::vector<uint64_t> parse_block_list(const Value& value, const PresentBlocks& present,
                                       BlockNeed need) {
    const std::vector<uint64_t> ids = to_id_list(value, kMaxBlockIds - 1);
    for (size_t i = 0; i < ids.size(); ++i) {
        const std::string problem = block_list_problem(ids[i], present.find(ids[i]), need);
        if (problem.empty()) continue;
        // An array names the element; a list string ("8-11") can only be named as a whole.
        if (value.json().is_array()) value.elements()[i].fail(problem);
        value.fail(problem);
    }
    return ids;
}

}  // namespace hotplugfs::config::detail
