// Params: the memory_hotplug module parameters and boot options a Machine runs with.
#pragma once

#include <optional>

#include "hotplug/types.h"

namespace hotplug {

struct Params {
    OnlineType auto_online_blocks = OnlineType::Offline;
    OnlinePolicy online_policy = OnlinePolicy::ContigZones;
    unsigned auto_movable_ratio = 301;
    bool auto_movable_numa_aware = true;
    MemmapOnMemory memmap_on_memory = MemmapOnMemory::No;
    bool movable_node = false;
    bool probe = true;
    bool memory_failure = false;
    std::optional<bool> crash_hotplug;  // the file exists only when set

    bool operator==(const Params&) const = default;
};

}  // namespace hotplug
