// MachineSnapshot: the mutable state of a Machine as plain data, so that an adapter can keep
// it somewhere (a file) and rebuild the same Machine later with Machine::restore.
//
// Only what operations change is here; everything the MachineSpec fixes (architecture, block
// size, nodes, pluggable ranges, device geometry) comes from the spec again on restore, and
// everything derived (zone spans, present and early pages, memmap pages, memory-group
// counters, per-block poison counts) is recomputed from the blocks. Restore checks that the
// snapshot fits the spec and names the offending field on failure.
//
// Field names follow the daemon's state file (docs/state.md), so that an error's `field`
// ("/blocks/3/zone") is also where the problem sits in that file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hotplug/params.h"
#include "hotplug/spec.h"
#include "hotplug/types.h"

namespace hotplug {

// Consecutive present blocks [first, first + count) that read the same in every respect.
// Runs keep a snapshot of a million identical blocks to a handful of entries.
struct BlockRun {
    uint64_t first = 0;
    uint64_t count = 0;
    int node = 0;
    BlockState state = BlockState::Offline;
    // Online (and going-offline) blocks: their zone, or nullopt with multi_zone set for boot
    // memory that several zones manage. Offline blocks: nullopt, multi_zone false.
    std::optional<Zone> zone;
    bool multi_zone = false;
    bool holes = false;
    bool unmovable = false;
    bool hotplugged = false;
    bool memmap = false;

    bool operator==(const BlockRun&) const = default;
};

// A memory device's runtime state. A configured device's geometry comes from the spec, by
// name; a device added at runtime carries its own (its `plugged` member unused).
struct DeviceSnapshot {
    std::string name;
    uint64_t plugged = 0;
    std::optional<DeviceSpec> added;
    bool operator==(const DeviceSnapshot&) const = default;
};

struct MigrationDelay {
    uint64_t block = 0;
    int64_t ms = 0;  // -1: never finishes
    bool operator==(const MigrationDelay&) const = default;
};

struct FaultsSnapshot {
    int going_online_error = 0;   // notifier-error-inject, 0 or -4095..-1
    int going_offline_error = 0;
    int notifier_priority = 0;
    std::vector<MigrationDelay> migration;  // ascending block ids, ms != 0
    std::vector<uint64_t> poisoned_pfns;    // ascending, each in a present block
    uint64_t soft_offlined = 0;             // pages soft-offlined so far (never decreases)
    bool operator==(const FaultsSnapshot&) const = default;
};

struct MachineSnapshot {
    // What the snapshot was taken of, compared with the spec on restore.
    Arch arch = Arch::X86_64;
    uint64_t block_size = 0;
    uint64_t nodes = 0;

    uint64_t seqnum = 0;  // the last uevent's SEQNUM
    // All of them: the writable ones are restored, the rest (fixed by the spec) are compared
    // with the spec so that a snapshot of another configuration is refused.
    Params params;
    std::vector<BlockRun> blocks;         // ascending, non-overlapping
    // The spec's devices, in the spec's order, then those added at runtime.
    std::vector<DeviceSnapshot> devices;
    FaultsSnapshot faults;
    bool demotion_enabled = false;  // kernel/mm/numa/demotion_enabled

    bool operator==(const MachineSnapshot&) const = default;
};

}  // namespace hotplug
