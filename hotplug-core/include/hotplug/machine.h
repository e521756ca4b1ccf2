// Machine: the kernel's memory-hotplug state and logic as a pure, deterministic model.
//
// Not thread-safe: the caller serialises every operation (the kernel's device_hotplug_lock)
// and keeps readers out while an operation mutates. Every operation returns an Outcome: an
// errno (0 on success), the uevents it caused and what it changed.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "hotplug/block_table.h"
#include "hotplug/changes.h"
#include "hotplug/event.h"
#include "hotplug/result.h"
#include "hotplug/spec.h"
#include "hotplug/types.h"

namespace hotplug {

struct Outcome {
    Error error;                // code 0: success
    std::vector<Uevent> events;
    ChangeSet changes;
    // An offline that takes time: the block now reads going-offline; the caller waits this
    // long (-1: until interrupted) and then calls finish_offline or abort_offline.
    std::optional<int64_t> pending_offline_ms;
    uint64_t pending_block = 0;

    bool ok() const { return error.code == 0; }
};

// Runtime state of a memory device (a memory group).
struct Device {
    DeviceSpec spec;
    uint64_t plugged = 0;  // bytes present (DIMM: 0 or size)
};

enum class NotifierAction : uint8_t { GoingOnline, GoingOffline };

struct BlockFault {
    int64_t migration_ms = 0;  // -1: never finishes
    uint64_t poisoned_pages = 0;
};

// A zone's span [start_pfn, end_pfn) and its present (online) pages.
struct ZoneSpan {
    uint64_t start_pfn = 0;
    uint64_t end_pfn = 0;
    uint64_t present_pages = 0;
    bool empty() const { return start_pfn == end_pfn; }
    bool intersects(uint64_t start, uint64_t end) const {
        return !empty() && start < end_pfn && end > start_pfn;
    }
};

struct NodeInfo {
    NodeSpec spec;
    std::array<ZoneSpan, kZoneCount> zones;
    uint64_t early_kernel_pages = 0;  // boot memory onlined to kernel zones
};

struct Params {
    OnlineType auto_online_blocks = OnlineType::Offline;
    OnlinePolicy online_policy = OnlinePolicy::ContigZones;
    unsigned auto_movable_ratio = 301;
    bool auto_movable_numa_aware = true;
    MemmapOnMemory memmap_on_memory = MemmapOnMemory::No;
    bool movable_node = false;
    bool probe = true;
    bool memory_failure = false;
    int crash_hotplug = -1;  // -1: no file
};

class Machine {
public:
    static Result<Machine> build(const MachineSpec& spec);

    // --- queries ---
    Arch arch() const { return arch_; }
    uint64_t block_size() const { return block_size_; }
    uint64_t pages_per_block() const { return block_size_ >> kPageShift; }
    const BlockTable& blocks() const { return blocks_; }
    const std::vector<NodeInfo>& nodes() const { return nodes_; }
    const NodeInfo* node(int id) const;
    const Params& params() const { return params_; }
    uint64_t last_seqnum() const { return seqnum_; }

    // `valid_zones` text without the newline: "Normal", "none", "Normal Movable", ...
    std::string valid_zones(uint64_t block) const;
    // The zone an online of this type would choose for an offline block.
    Zone zone_for_online(uint64_t block, OnlineType type) const;
    // Online pages of a node (all zones) and of its kernel zones.
    uint64_t node_present_pages(int node) const;
    uint64_t node_kernel_present_pages(int node) const;
    bool node_has_memory(int node) const { return node_present_pages(node) > 0; }
    bool node_has_normal_memory(int node) const { return node_kernel_present_pages(node) > 0; }

    const std::vector<Device>& devices() const { return devices_; }
    const Device* device(const std::string& name) const;
    // The device (memory group) a block belongs to, if any.
    const Device* device_of(uint64_t block) const;
    int notifier_error(NotifierAction action) const;
    int notifier_priority() const { return notifier_priority_; }
    BlockFault block_fault(uint64_t block) const;
    uint64_t poisoned_pages() const;     // hard-poisoned pages, machine-wide
    uint64_t soft_offlined_pages() const { return soft_offlined_; }
    // Pages of a block that hold its own memmap (memmap_on_memory), not usable memory.
    uint64_t memmap_pages(uint64_t block) const;
    // Usable (managed) pages of a node: online pages minus memmaps carried by blocks.
    uint64_t node_managed_pages(int node) const;

    // --- operations ---
    // Change one block: `state` writes (online/online_kernel/online_movable/offline).
    Outcome set_state(uint64_t block, OnlineType type);
    // `online` writes: true onlines with the policy, false offlines; no-op if already there.
    Outcome set_online(uint64_t block, bool online);
    // Add present memory (probe, DIMM, control API); auto-onlines per auto_online_blocks.
    Outcome add_memory(uint64_t start, uint64_t size, int node);
    // `probe` writes: one block at a block-aligned physical address.
    Outcome probe(uint64_t phys_addr);
    // Remove memory: offlines what is online (rolling back on failure), then removes.
    Outcome remove_memory(uint64_t start, uint64_t size);
    // Slow offline, second half: complete it (offline + uevent) or give up (back online).
    Outcome finish_offline(uint64_t block);
    Outcome abort_offline(uint64_t block);
    // Memory devices (spec §6): a DIMM plugs/unplugs whole; virtio-mem resizes in units.
    Outcome plug_device(const std::string& name);
    Outcome unplug_device(const std::string& name);
    Outcome resize_device(const std::string& name, uint64_t bytes);
    // notifier-error-inject: 0 or -4095..-1; while non-zero every such action fails with it.
    Outcome set_notifier_error(NotifierAction action, int error);
    Outcome set_notifier_priority(int priority);
    Outcome set_block_fault(uint64_t block, BlockFault fault, bool unmovable);
    // hwpoison (spec §9).
    Outcome soft_offline_page(uint64_t phys_addr);
    Outcome hard_offline_page(uint64_t phys_addr);
    Outcome set_auto_online_blocks(OnlineType type);
    Outcome set_online_policy(OnlinePolicy policy);
    Outcome set_auto_movable_ratio(unsigned ratio);
    Outcome set_auto_movable_numa_aware(bool aware);
    // Synthetic uevent written to a device's `uevent` file.
    Outcome synthetic_uevent(std::string devpath, std::string action,
                             std::vector<std::pair<std::string, std::string>> synth);

    // Node that owns a physical address for probe: the pluggable range covering it, else 0.
    int node_for_address(uint64_t phys_addr) const;
    static std::string block_devpath(uint64_t block);

private:
    Machine() = default;

    Outcome online_block(uint64_t block, OnlineType type);
    Outcome offline_block(uint64_t block);
    Uevent event(std::string action, uint64_t block);
    Zone choose_zone(int node, uint64_t start_pfn, uint64_t nr_pages, OnlineType type) const;
    Zone default_kernel_zone(int node, uint64_t start_pfn, uint64_t nr_pages) const;
    Zone auto_movable_zone(int node, uint64_t start_pfn, uint64_t nr_pages) const;
    // Pages of a block that fall in `zone`'s address limits, as a pfn range.
    std::pair<uint64_t, uint64_t> block_pfns_in_zone(uint64_t block, Zone zone) const;
    void grow_span(NodeInfo& node, Zone zone, uint64_t start_pfn, uint64_t end_pfn,
                   ChangeSet& changes);
    void shrink_span(NodeInfo& node, Zone zone, uint64_t start_pfn, uint64_t end_pfn,
                     ChangeSet& changes);
    void note_span_change(int node, uint64_t old_start, uint64_t old_end, uint64_t new_start,
                          uint64_t new_end, ChangeSet& changes) const;
    // Adds (online) or removes a block's pages in `zone`; `clip` limits them to the zone's
    // address range (boot blocks that several zones manage).
    void account(uint64_t block, Zone zone, bool clip, bool online, ChangeSet& changes);
    Outcome add_blocks(uint64_t first, uint64_t count, int node, bool hotplugged, Outcome out);
    bool range_in_pluggable(uint64_t start, uint64_t size) const;

    Arch arch_ = Arch::X86_64;
    uint64_t block_size_ = 0;
    BlockTable blocks_;
    std::vector<NodeInfo> nodes_;  // indexed by node id (dense, validated by build)
    std::vector<PluggableRangeSpec> pluggable_;
    Params params_;
    uint64_t seqnum_ = 0;
    std::vector<Device> devices_;
    std::map<uint64_t, BlockFault> faults_;  // sparse: only blocks with a fault
    int notifier_errors_[2] = {0, 0};
    int notifier_priority_ = 0;
    uint64_t soft_offlined_ = 0;
};

}  // namespace hotplug
