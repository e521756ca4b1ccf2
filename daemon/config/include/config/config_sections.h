// The topology sections of a config (block size, nodes, memory, pluggable space, block-id
// lists), each parsed and checked against what the sections before it established.
// Internal to daemon/config.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "config/config_values.h"
#include "hotplug/spec.h"

namespace hotplugfs::config::detail {

// The block table is dense (four bytes per possible id), so ranges must end below this id;
// the bound keeps a stray address from costing gigabytes of table.
inline constexpr uint64_t kMaxBlockIds = 1ull << 25;
inline constexpr uint64_t kMaxNodes = 1024;  // the kernel's largest MAX_NUMNODES
inline constexpr uint64_t kMaxCpuId = 8191;  // the kernel's largest NR_CPUS, minus one

// What the earlier sections fixed and the address ranges are checked against.
struct Layout {
    hotplug::Arch arch;
    uint64_t block_size;
    size_t node_count;
};

uint64_t parse_block_size(const Value& value, hotplug::Arch arch);
// An absent "nodes" means one node 0 with the NodeSpec defaults.
std::vector<hotplug::NodeSpec> parse_nodes(const std::optional<Value>& value);
std::vector<hotplug::MemoryRangeSpec> parse_memory(const Value& value, const Layout& layout);
std::vector<hotplug::PluggableRangeSpec> parse_pluggable(const Value& value, const Layout& layout);

// The memory ranges of a spec, searchable by block id.
class PresentBlocks {
  public:
    PresentBlocks(const std::vector<hotplug::MemoryRangeSpec>& memory, uint64_t block_size);
    // The range that holds `block`, or nullptr when the block is not present.
    const hotplug::MemoryRangeSpec* find(uint64_t block) const;

  private:
    struct Span {
        uint64_t first;  // block ids [first, end)
        uint64_t end;
        const hotplug::MemoryRangeSpec* range;
    };
    std::vector<Span> spans_;  // sorted by first; disjoint once the memory section passed
};

// The memory ranges of the spec plus the plugged part of every device (present at start-up,
// hot-added and offline), for the sections that name present blocks.
std::vector<hotplug::MemoryRangeSpec> present_ranges(const hotplug::MachineSpec& spec);

// Devices: each fully checked, inside one pluggable range, overlapping neither memory nor
// another device. Needs the memory and pluggable sections.
std::vector<hotplug::DeviceSpec> parse_devices(const Value& value, const Layout& layout,
                                               const hotplug::MachineSpec& spec);
// Per-block offline faults; every block must be present (memory or plugged device memory).
std::vector<hotplug::BlockFaultSpec> parse_block_faults(const Value& value,
                                                        const PresentBlocks& present);

// Which blocks a block-id list ("holes", "unmovable", "multi_zone") may name.
enum class BlockNeed {
    Present,     // any present block
    Boot,        // present boot memory (not hot-added)
    OnlineBoot,  // boot memory that is online
};
std::vector<uint64_t> parse_block_list(const Value& value, const PresentBlocks& present,
                                       BlockNeed need);

}  // namespace hotplugfs::config::detail
