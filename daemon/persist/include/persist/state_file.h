// The daemon's state file (--state FILE, docs/state.md): the machine's mutable state as
// versioned JSON, written atomically after every change and restored on start.
#pragma once

#include <cerrno>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "hotplug/machine.h"
#include "hotplug/snapshot.h"

namespace hotplugfs::persist {

// The "format" this daemon writes and the only one it reads.
inline constexpr int kFormat = 1;

// Why a state file was refused; the same shape as a configuration error.
struct StateError {
    std::string file;
    std::string json_path;  // JSON Pointer, "line L, column C" for syntax errors, or empty
    std::string reason;
    int code = EINVAL;  // the errno to report: EINVAL for the content, else why it was unreadable

    // One line: "<file>: <json_path>: <reason>" (or "<file>: <reason>" without a path).
    std::string message() const;
};

std::string encode(const hotplug::MachineSnapshot& snap);
// Parses and checks a state document (its types, and state_rules.h); `name` stands in for the
// file in errors. Whether the snapshot fits a machine is Machine::restore's to say.
std::variant<hotplug::MachineSnapshot, StateError> decode(std::string_view text,
                                                          const std::string& name);

// Replaces `path` with `text` so that a crash at any moment leaves either the old or the new
// file: a temporary file in the same directory, fsync, rename over `path`, fsync of the
// directory. Returns "" or why it failed (the temporary file is removed then), and sets
// `*error` (when given) to the errno of the failure.
std::string write_atomically(const std::string& path, std::string_view text,
                             int* error = nullptr);

// The start of a daemon with --state: the machine restored from `path` when the file exists,
// else `built` (the configuration's machine), after creating `path` from it. A file that
// cannot be read, parsed or restored onto `spec` is an error; the file is left as it is.
std::variant<hotplug::Machine, StateError> open(const std::string& path,
                                                const hotplug::MachineSpec& spec,
                                                hotplug::Machine built);

// A saved state to load into a running machine (D-Bus Load): `path` read and decoded.
std::variant<hotplug::MachineSnapshot, StateError> read(const std::string& path);

// A persistence hook for LiveMachine: writes each snapshot that differs from the last one
// written (`current` is what the file holds now). Returns 0, or the errno of a write that
// failed (ENOSPC on a full file system), which the change then fails with; the first failure
// of a run of them is logged, never thrown.
std::function<int(const hotplug::MachineSnapshot&)> persister(std::string path,
                                                              hotplug::MachineSnapshot current);

}  // namespace hotplugfs::persist
