#include "hotplug/spec.h"

namespace hotplug {

MachineSpec default_machine_spec() {
    constexpr uint64_t GiB = 1ull << 30;
    MachineSpec spec;
    spec.arch = Arch::X86_64;
    spec.block_size = 128ull << 20;
    spec.nodes = {
        NodeSpec{0, {0, 1}, {10, 20}, 160ull << 10},
        NodeSpec{1, {2, 3}, {20, 10}, 64ull << 10},
    };
    // Node 0 boots with 3 GiB below the PCI hole and 1 GiB above 4 GiB, so it has DMA, DMA32
    // and Normal memory; node 1 boots with 4 GiB of Normal memory.
    spec.memory = {
        MemoryRangeSpec{0, 3 * GiB, 0, true, false, {}},
        MemoryRangeSpec{4 * GiB, 1 * GiB, 0, true, false, {}},
        MemoryRangeSpec{5 * GiB, 4 * GiB, 1, true, false, {}},
        // Hot-added while auto-onlining was off: present, offline.
        MemoryRangeSpec{9 * GiB, 4 * GiB, 0, false, true, {}},
        MemoryRangeSpec{13 * GiB, 4 * GiB, 1, false, true, {}},
    };
    spec.pluggable = {
        PluggableRangeSpec{9 * GiB, 4 * GiB, 0},
        PluggableRangeSpec{13 * GiB, 4 * GiB, 1},
        PluggableRangeSpec{17 * GiB, 16 * GiB, 0},
        PluggableRangeSpec{33 * GiB, 16 * GiB, 1},
    };
    spec.params.probe = true;
    spec.params.auto_online_blocks = OnlineType::Offline;
    return spec;
}

}  // namespace hotplug
