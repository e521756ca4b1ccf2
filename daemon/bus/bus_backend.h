// What the D-Bus objects operate on: the machine, and the two ways to change it that keep the
// kernel's caches of the mount exact (a write to a file of the tree, or a model operation).
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "model/machine_state.h"

namespace hotplugfs::bus {

// Nobody can send a D-Bus caller a signal, so an offline it asked for that keeps migrating is
// interrupted after this long (EINTR, the block back online), within the callers' default
// method timeout of 25 s.
inline constexpr int64_t kMaxOfflineWaitMs = 20000;

// How a method that ran off the bus thread ended.
struct MethodResult {
    int error = 0;                     // 0 or an errno
    std::string what;                  // the errno's message is prefixed with it
    std::string message;               // or, when set, this is the whole message
    std::optional<std::string> value;  // what a method that returns one string returns

    // An operation's -errno (or 0 or a count) as a result; `what` names the failed target.
    static MethodResult of(long r, std::string what) {
        return MethodResult{r < 0 ? static_cast<int>(-r) : 0, std::move(what), {}, {}};
    }
};

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

    // Runs `work` off the bus thread, in call order, and replies when it is done: for methods
    // that may wait (an offline that migrates slowly). Returns what the handler returns.
    // Set by BusService.
    std::function<int(sd_bus_message* m, std::function<MethodResult()> work)> defer;

    // Writes `data` to the file at `path`; -ENOENT when it does not exist.
    long write_path(const std::string& path, std::string_view data) const {
        const auto ino = state.resolve(path);
        return ino ? write_file(*ino, data) : -ENOENT;
    }
};

}  // namespace hotplugfs::bus
