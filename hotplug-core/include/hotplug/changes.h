// What an operation changed, so adapters can refresh exactly the affected views.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hotplug {

struct RemovedBlock {
    uint64_t id = 0;
    int node = 0;  // the node it belonged to, for the links that vanish with it
};

struct ChangeSet {
    std::vector<uint64_t> blocks;   // blocks whose state (and so online/valid_zones) changed
    std::vector<uint64_t> added;    // blocks that now exist
    std::vector<RemovedBlock> removed;  // blocks that no longer exist
    // Offline blocks in these id ranges [first, last] may read a different valid_zones.
    std::vector<std::pair<uint64_t, uint64_t>> valid_zones;
    bool all_valid_zones = false;   // policy inputs changed: any offline block may differ
    std::vector<int> nodes;         // nodes whose meminfo changed
    bool node_masks = false;        // has_memory / has_normal_memory may differ
    // Global settings: module parameters, auto_online_blocks, notifier error injection, and
    // a device's own state (its plugged size).
    bool params = false;
    // Devices were added or removed; the names of all devices, in order, before the first
    // such change (an index names a device's files, so later ones move when one goes).
    bool devices = false;
    std::vector<std::string> devices_before;

    bool empty() const {
        return blocks.empty() && added.empty() && removed.empty() && valid_zones.empty() &&
               !all_valid_zones && nodes.empty() && !node_masks && !params && !devices;
    }
    void merge(const ChangeSet& other);
};

}  // namespace hotplug
