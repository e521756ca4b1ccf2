// What the D-Bus objects operate on: the machine's owner, and the ways methods change it (a
// write to a file of the tree, a model operation, a saved state).
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "model/live_machine.h"

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

// What the methods change the machine through: its one owner, LiveMachine.
struct Backend {
    LiveMachine& live;

    // Runs `work` off the bus thread, in call order, and replies when it is done: for methods
    // that may wait (an offline that migrates slowly). Returns what the handler returns.
    // Set by BusService.
    std::function<int(sd_bus_message* m, std::function<MethodResult()> work)> defer;
    // The event log's state for the EventLogState property ("ok", "failing: <reason>"); empty
    // without --event-log.
    std::function<std::string()> event_log_state;

    // One write() to a file of the tree: bytes or -errno. A slow offline is interrupted after
    // kMaxOfflineWaitMs.
    long write_file(uint64_t ino, std::string_view data) const;
    // Writes `data` to the file at `path` (relative to the sysfs root); -ENOENT when it does
    // not exist.
    long write_path(const std::string& path, std::string_view data) const;
    // A model operation: 0 or -errno.
    long apply(const std::function<hotplug::Outcome(hotplug::Machine&)>& op) const;
    // Writes the machine's state to a file (docs/state.md): "" or why it failed.
    std::string save(const std::string& file) const;
    // Brings the machine to the state in a file: 0, or -errno with `why` set.
    int load(const std::string& file, std::string& why) const;
};

}  // namespace hotplugfs::bus
