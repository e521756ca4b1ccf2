// MachineSpec: everything needed to build a Machine. Produced by the daemon's config loader or
// by built-in defaults; validated by Machine::build.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hotplug/params.h"
#include "hotplug/types.h"

namespace hotplug {

// CPU ids are below NR_CPUS of Debian's kernels (CONFIG_NR_CPUS=8192): cpu/kernel_max is one less.
inline constexpr int kNrCpus = 8192;

// Memory tiers (mm/memory-tiers.c): a tier spans 2^7 of abstract distance, and memory
// without one of its own (DRAM) has 4.5 chunks, so it is on memory_tier4.
inline constexpr int kMemtierChunkBits = 7;
inline constexpr int kMemtierAdistanceDram = 4 * (1 << kMemtierChunkBits) + (1 << 6);

struct NodeSpec {
    int id = 0;
    std::vector<int> cpus;        // ids 0..kNrCpus-1, each on one node only
    std::vector<int> distance;    // to every node, in node order; empty = 10 local, 20 remote
    uint64_t kernel_used_kb = 0;  // what the kernel itself uses on this node (MemUsed floor)
    // The abstract distance of the node's memory as an adistance algorithm (HMAT, CXL CDAT)
    // reports it; none: kMemtierAdistanceDram. 0 or more.
    std::optional<int> adistance;
};

// A physical range that is present when the machine starts.
struct MemoryRangeSpec {
    uint64_t start = 0;
    uint64_t size = 0;
    int node = 0;
    bool online = true;
    bool hotplugged = false;     // added after boot (counts as hot-added, not early, memory)
    std::optional<Zone> zone;    // online zone; default: by address (architecture zone limits)
};

// Physical space where probe and device plugs may add memory.
struct PluggableRangeSpec {
    uint64_t start = 0;
    uint64_t size = 0;
    int node = 0;
};

// A hot-pluggable memory device: its blocks form one memory group.
enum class DeviceKind : uint8_t {
    Dimm,       // static group (ACPI DIMM): all blocks added and removed together
    VirtioMem,  // dynamic group: plugged and unplugged in units of `unit` bytes
};

// "dimm", "virtio-mem": the words configs and debug files use.
std::string_view device_kind_name(DeviceKind kind);

struct DeviceSpec {
    std::string name;        // unique, a valid file name (no '/', not "." or "..")
    DeviceKind kind = DeviceKind::Dimm;
    int node = 0;
    uint64_t start = 0;      // physical address, block aligned
    uint64_t size = 0;       // DIMM: its size; virtio-mem: the most it can plug
    uint64_t unit = 0;       // virtio-mem: plug granularity (a multiple of the block size)
    uint64_t plugged = 0;    // at start: DIMM 0 or size; virtio-mem: bytes plugged

    bool operator==(const DeviceSpec&) const = default;
};

// Per-block behaviour of offlining that real hardware decides and a rehearsal wants to choose.
struct BlockFaultSpec {
    uint64_t block = 0;
    int64_t migration_ms = 0;  // time an offline takes; -1: never finishes (retry forever)
    bool unmovable = false;    // offline fails EBUSY
};

// A machine starts with the parameters it is configured with.
using ParamsSpec = Params;

struct MachineSpec {
    Arch arch = Arch::X86_64;
    // What the machine runs on, as systemd names it ("none", "kvm", "microsoft", ...): udev
    // rules test it with CONST{virt}. The model itself does not depend on it.
    std::string virt = "none";
    uint64_t block_size = 128ull << 20;
    std::vector<NodeSpec> nodes;
    std::vector<MemoryRangeSpec> memory;
    std::vector<PluggableRangeSpec> pluggable;
    std::vector<uint64_t> holes;       // block ids that contain memory holes
    std::vector<uint64_t> unmovable;   // block ids whose offlining fails EBUSY
    std::vector<uint64_t> multi_zone;  // block ids managed by more than one zone ("none")
    std::vector<DeviceSpec> devices;
    std::vector<BlockFaultSpec> block_faults;
    ParamsSpec params;
    // What every memoryN/removable reads: since Linux 5.x whether the kernel was built with
    // memory hot-remove, the same for every block.
    bool removable = true;
    // s390x's storage increment (a power of two): memoryN/phys_device reads the block's start
    // divided by it. 0: phys_device reads 0, as on every other architecture.
    uint64_t storage_increment = 0;
};

// The built-in machine: x86_64, 128 MiB blocks, two nodes with 4 GiB boot memory each,
// 4 GiB of hot-added offline memory per node and free pluggable space above it.
MachineSpec default_machine_spec();

}  // namespace hotplug
