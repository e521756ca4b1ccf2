// Machine: the kernel's memory-hotplug state and logic as a pure, deterministic model.
//
// Not thread-safe: the caller serialises every operation (the kernel's device_hotplug_lock)
// and keeps readers out while an operation mutates. Every operation returns an Outcome: an
// errno (0 on success), the uevents it caused and what it changed.
#pragma once

#include <array>
#include <map>
#include <set>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "hotplug/block_table.h"
#include "hotplug/changes.h"
#include "hotplug/event.h"
#include "hotplug/params.h"
#include "hotplug/result.h"
#include "hotplug/param_table.h"
#include "hotplug/snapshot.h"
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
    uint64_t plugged = 0;  // bytes present, always [spec.start, spec.start + plugged)
    // Online pages of the group by zone kind (the kernel's memory_group counters, which
    // auto-movable reads); kept up to date wherever pages are accounted.
    uint64_t present_kernel_pages = 0;
    uint64_t present_movable_pages = 0;
    // Added at runtime rather than configured: unplugging it removes the device again, the
    // way unplugging a DIMM from a VM removes its slot's device.
    bool added = false;
};

// A device to add at runtime (Machine::create_device).
struct NewDevice {
    std::string name;  // a free, valid file name (Machine::free_device_name gives one)
    DeviceKind kind = DeviceKind::Dimm;
    int node = 0;
    uint64_t size = 0;                  // DIMM: its size; virtio-mem: the most it can plug
    std::optional<uint64_t> start;      // none: the lowest free place that fits
    uint64_t unit = 0;                  // virtio-mem; 0: the block size
    std::optional<uint64_t> requested;  // virtio-mem: bytes to plug now; none: all of it
};

enum class NotifierAction : uint8_t { GoingOnline, GoingOffline };

struct BlockFault {
    int64_t migration_ms = 0;  // -1: never finishes
    // Hardware-poisoned pages in the block (the kernel's per-block nr_hwpoison): pages
    // hard-offlined and, as in the kernel, pages soft-offlined too (both get PG_hwpoison).
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
    uint64_t memmap_pages = 0;        // memmaps carried by online blocks: present, not managed
};

class SnapshotRestorer;

class Machine {
public:
    static Result<Machine> build(const MachineSpec& spec);
    // The mutable state as plain data (hotplug/snapshot.h).
    MachineSnapshot snapshot() const;
    // The machine `spec` builds, brought to the state `snap` describes: indistinguishable
    // from the machine the snapshot was taken of. EINVAL, with Error::field naming the
    // offending field, when the snapshot is malformed or does not fit the spec.
    static Result<Machine> restore(const MachineSpec& spec, const MachineSnapshot& snap);
    // What differs between `before` and this machine, as the change set an operation that
    // turned one into the other would return (for a restore over a running machine). Blocks,
    // additions, removals and devices are compared; everything derived from them (zone spans,
    // node counters and masks, parameters) is reported as possibly changed. Never fails.
    ChangeSet changes_since(const Machine& before) const;

    // --- queries ---
    Arch arch() const { return arch_; }
    uint64_t block_size() const { return block_size_; }
    uint64_t pages_per_block() const { return block_size_ >> kPageShift; }
    bool removable() const { return removable_; }
    // What memoryN/phys_device reads (s390x: the storage increment the block starts in).
    uint64_t phys_device(uint64_t block) const {
        return storage_increment_ ? block * block_size_ / storage_increment_ : 0;
    }
    const BlockTable& blocks() const { return blocks_; }
    const std::vector<NodeInfo>& nodes() const { return nodes_; }
    const NodeInfo* node(int id) const;
    // The node of a present CPU, or -1 (no such CPU: a hole or beyond the highest).
    int cpu_node(int cpu) const {
        return cpu >= 0 && cpu < nr_cpu_ids() ? cpu_nodes_[cpu] : -1;
    }
    // The kernel's nr_cpu_ids: one more than the highest CPU id (possible CPUs are 0..n-1).
    int nr_cpu_ids() const { return static_cast<int>(cpu_nodes_.size()); }
    // Memory tiers: a node's memory is on tier adistance >> kMemtierChunkBits while the node
    // has memory (N_MEMORY); a tier exists while one of its nodes has memory.
    int node_adistance(int node) const;
    int node_memory_tier(int node) const;
    std::vector<int> memory_tiers() const;          // the tiers that exist, ascending
    std::vector<int> tier_nodes(int tier) const;    // nodes with memory on it, ascending
    std::vector<int> possible_memory_tiers() const; // every node's tier, with memory or not
    // kernel/mm/numa/demotion_enabled: only stored (the model does not reclaim).
    bool demotion_enabled() const { return demotion_enabled_; }
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
    // Poisoned pages machine-wide (the kernel's num_poisoned_pages: hard and soft).
    uint64_t poisoned_pages() const { return poisoned_pfns_.size(); }
    uint64_t soft_offlined_pages() const { return soft_offlined_; }
    // Pages of a block that hold its own memmap (memmap_on_memory), not usable memory.
    uint64_t memmap_pages(uint64_t block) const;
    // Usable (managed) pages of a node: online pages minus memmaps carried by blocks.
    uint64_t node_managed_pages(int node) const;

    // --- operations ---
    // Change one block: `state` writes (online/online_kernel/online_movable/offline).
    // An offline of a block with a migration delay only starts: the block reads
    // going-offline and the Outcome carries pending_offline_ms; any write to a going-offline
    // block fails EBUSY (the kernel holds its device lock meanwhile).
    Outcome set_state(uint64_t block, OnlineType type);
    // `online` writes: true onlines with the policy, false offlines; no-op if already there.
    Outcome set_online(uint64_t block, bool online);
    // Add present memory (control API); auto-onlines per auto_online_blocks. Memory added
    // here carries its memmap when memmap_on_memory is on. EEXIST inside a device's range.
    Outcome add_memory(uint64_t start, uint64_t size, int node);
    // `probe` writes: one block at a block-aligned physical address (never memmap_on_memory:
    // the kernel's probe adds without MHP_MEMMAP_ON_MEMORY).
    Outcome probe(uint64_t phys_addr);
    // Remove memory: offlines what is online (rolling back on failure), then removes. It
    // does not wait: a block with a migration delay fails the removal EBUSY. Ranges that
    // belong to a device fail EBUSY (use unplug_device / resize_device).
    Outcome remove_memory(uint64_t start, uint64_t size);
    // Slow offline, second half: complete it (offline + uevent) or give up (back online,
    // no event: MEM_CANCEL_OFFLINE). EINVAL unless the block is going-offline.
    Outcome finish_offline(uint64_t block);
    Outcome abort_offline(uint64_t block);
    // Memory devices (spec §6); ENODEV for an unknown name. A DIMM plugs whole (EEXIST if
    // plugged): add events, then auto-online events; it unplugs whole (EINVAL if not
    // plugged): offline what is online, rolling back with the default online type on
    // failure, then remove. virtio-mem: plug = resize to size, unplug = resize to 0.
    Outcome plug_device(const std::string& name);
    Outcome unplug_device(const std::string& name);
    // virtio-mem only (EINVAL for a DIMM); `bytes` a multiple of the unit, at most the size
    // (EINVAL). Grows unit by unit from the start (add + auto-online each unit), shrinks
    // from the top; a unit that cannot go offline is rolled back into the zones its blocks
    // had and the resize stops there with that errno, keeping the units already unplugged.
    Outcome resize_device(const std::string& name, uint64_t bytes);
    // Hot-plugs a device the configuration does not declare, then plugs it like
    // plug_device (a virtio-mem device only `requested` bytes). Without a start it goes to
    // the lowest free, aligned place in a pluggable range of its node, else of any node
    // (ENOSPC when none fits). EINVAL for a name in use, bad geometry or a start that
    // overlaps memory or another device. Its unplug_device removes it.
    Outcome create_device(const NewDevice& d);
    // "dimm0", "virtio-mem1", ...: the lowest such name no device has.
    std::string free_device_name(DeviceKind kind) const;
    // notifier-error-inject: 0 or -4095..-1; while non-zero every such action fails with it.
    Outcome set_notifier_error(NotifierAction action, int error);
    // Only stored (the model has no other notifiers); both changes report `params`.
    Outcome set_notifier_priority(int priority);
    // Sets a present block's migration delay (-1 or >= 0, else EINVAL) and unmovable flag;
    // ENODEV if absent. fault.poisoned_pages is ignored: pages are poisoned only through
    // hard/soft_offline_page. Faults belong to the present block: removal forgets them.
    Outcome set_block_fault(uint64_t block, BlockFault fault, bool unmovable);
    // hwpoison (spec §9); EOPNOTSUPP unless params().memory_failure. Soft: ENXIO without
    // memory there, EIO if the block is offline, else the page is migrated and marked
    // poisoned (success again, uncounted, for a page already poisoned). Hard: ENXIO unless
    // the block is online (memory_failure's "outside kernel control"), EHWPOISON for a page
    // already poisoned. A block with poisoned pages fails to online with EHWPOISON.
    Outcome soft_offline_page(uint64_t phys_addr);
    Outcome hard_offline_page(uint64_t phys_addr);
    // A parameter of the table (param_table.h) while serving; what else it changes follows
    // its row (valid_zones under a policy). EINVAL for a row that is not writable at run time
    // (the configuration fixes it) or a value outside its kind (a word index past the words,
    // a bool other than 0/1, more than UINT_MAX).
    Outcome set_param(const ParamSpec& param, ParamValue value);
    // The same for one parameter each.
    Outcome set_auto_online_blocks(OnlineType type);
    Outcome set_online_policy(OnlinePolicy policy);
    Outcome set_auto_movable_ratio(unsigned ratio);
    Outcome set_auto_movable_numa_aware(bool aware);
    // Reports `params` when it changes.
    Outcome set_demotion_enabled(bool enabled);
    // Synthetic uevent written to a device's `uevent` file.
    Outcome synthetic_uevent(std::string devpath, std::string action,
                             std::vector<std::pair<std::string, std::string>> synth);

    // Node that owns a physical address for probe: the pluggable range covering it, else 0.
    int node_for_address(uint64_t phys_addr) const;
    static std::string block_devpath(uint64_t block);
    static std::string tier_devpath(int tier);

private:
    friend class SnapshotRestorer;
    Machine() = default;

    // Steps of build(), each validating its part of the spec (EINVAL naming what is wrong).
    std::optional<Error> build_nodes(const MachineSpec& spec);
    std::optional<Error> build_memory_range(const MachineSpec& spec, size_t index);
    std::optional<Error> build_block_marks(const MachineSpec& spec);

    // How an offline may treat a block with a migration delay.
    enum class Wait : uint8_t {
        Pending,  // a `state`/`online` write: go going-offline and let the caller wait
        Refuse,   // a removal: it does not wait, the offline fails EBUSY
    };
    // How a removal that failed onlines again the blocks it had offlined.
    enum class Rollback : uint8_t {
        DefaultType,  // ACPI eject: device_online, the default online type (policy)
        SameZone,     // offline_and_remove_memory (virtio-mem): the zone each block had
    };

    Outcome online_block(uint64_t block, OnlineType type);
    Outcome offline_block(uint64_t block, Wait wait);
    void complete_offline(uint64_t block, Outcome& out);
    Uevent event(std::string action, uint64_t block);
    // The MEM_ONLINE/MEM_OFFLINE notifier of the memory tiers: a node that gained its first
    // memory joins its tier, creating it ("add" event) when it was the tier's first node; a
    // node that lost its last memory leaves, and a tier left empty is destroyed ("remove").
    void note_tier_change(int node, bool had_memory, Outcome& out);
    Zone choose_zone(uint64_t block, OnlineType type) const;
    Zone default_kernel_zone(int node, uint64_t start_pfn, uint64_t nr_pages) const;
    Zone auto_movable_zone(uint64_t block) const;
    bool auto_movable_can_online_movable(int node, const Device* group,
                                         uint64_t nr_pages) const;
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
    Outcome add_range(uint64_t start, uint64_t size, int node, bool memmap);
    Outcome add_blocks(uint64_t first, uint64_t count, int node, bool hotplugged, bool memmap,
                       Outcome out);
    // Offlines every online block of [first, first + count) for a removal; on failure onlines
    // again what it offlined and returns the error. Events and changes go to `out`.
    bool offline_for_removal(uint64_t first, uint64_t count, Rollback rollback, Outcome& out);
    // Removes present, offline blocks: one `remove` event each; their faults are forgotten.
    void remove_blocks(uint64_t first, uint64_t count, Outcome& out);
    bool range_in_pluggable(uint64_t start, uint64_t size) const;
    bool memory_failure_enabled(Outcome& out) const;
    // The device whose physical range overlaps [start, start + size), if any.
    const Device* device_overlapping(uint64_t start, uint64_t size) const;
    Device* find_device(const std::string& name);
    int device_index(uint64_t block) const;  // index into devices_ covering the block, or -1
    Outcome resize_virtio(Device& dev, uint64_t bytes);
    void eject_dimm(Device& dev, Outcome& out);
    // Checks a device's name and geometry against the nodes, pluggable ranges and the
    // other devices (not against present memory).
    std::optional<Error> check_device(const DeviceSpec& spec) const;
    // A configured device (build): checked, then its plugged part made present.
    std::optional<Error> add_device(const DeviceSpec& spec);
    std::optional<uint64_t> free_device_start(int node, uint64_t size, uint64_t align) const;
    bool range_has_memory(uint64_t start, uint64_t size) const;
    void note_device_list(Outcome& out) const;
    bool wants_memmap() const { return params_.memmap_on_memory != MemmapOnMemory::No; }

    Arch arch_ = Arch::X86_64;
    uint64_t block_size_ = 0;
    bool removable_ = true;
    uint64_t storage_increment_ = 0;
    BlockTable blocks_;
    std::vector<NodeInfo> nodes_;  // indexed by node id (dense, validated by build)
    std::vector<int> cpu_nodes_;   // by cpu id up to the highest: its node, -1 for a hole
    std::vector<PluggableRangeSpec> pluggable_;
    Params params_;
    uint64_t seqnum_ = 0;
    std::vector<Device> devices_;
    std::map<uint64_t, BlockFault> faults_;  // sparse: only blocks with a fault
    std::set<uint64_t> poisoned_pfns_;       // every poisoned page, once
    int notifier_errors_[2] = {0, 0};
    int notifier_priority_ = 0;
    uint64_t soft_offlined_ = 0;
    bool demotion_enabled_ = false;
};

}  // namespace hotplug
