// What the D-Bus objects operate on: the machine, and the two ways to change it that keep the
// kernel's caches of the mount exact (a write to a file of the tree, or a model operation).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/machine_state.h"

namespace hotplugfs::bus {

struct Backend {
    MachineState& state;
    // One write() to the file at `path` (relative to the sysfs root): bytes or -errno.
    std::function<long(uint64_t ino, std::string_view data)> write_file;
    // A model operation: 0 or -errno.
    std::function<long(const std::function<hotplug::Outcome(hotplug::Machine&)>& op)> apply;

    // Writes the machine's state to a file (docs/state.md): "" or why it failed.
    std::function<std::string(const std::string& file)> save;
    // Replaces the machine by the state in a file: 0, or -errno with `why` set.
    std::function<int(const std::string& file, std::string& why)> load;

    // Writes `data` to the file at `path`; -ENOENT when it does not exist.
    long write_path(const std::string& path, std::string_view data) const {
        const auto ino = state.resolve(path);
        return ino ? write_file(*ino, data) : -ENOENT;
    }
};

}  // namespace hotplugfs::bus
