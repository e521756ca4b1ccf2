// The file-descriptor store protocol of systemd (sd_notify(3) FDSTORE=1, sd_listen_fds(3)),
// spoken to whichever keeper listens on $NOTIFY_SOCKET: systemd itself, or a container manager
// that implements the same messages (docs/restarts.md).
#pragma once

#include <string>
#include <vector>

#include "sandbox/unique_fd.h"

namespace hotplugfs::fdstore {

// What the daemon keeps beside its FUSE connection (fuse_keeper.h names the connection's own).
inline constexpr const char* kUdevNetnsName = "udev-netns";  // --udev-netns's namespace
inline constexpr const char* kBusName = "bus";                // the private D-Bus socket

// Whether a keeper listens: $NOTIFY_SOCKET is set.
bool available();

// Hands a duplicate of `fd` to the keeper under `name`. Returns an empty string or why not.
std::string store(const std::string& name, int fd);

// Stores `bytes` as a sealed memory file named `name`.
std::string store_bytes(const std::string& name, const std::string& bytes);

// Asks the keeper to close and forget every descriptor stored under `name`.
void remove(const std::string& name);

// The descriptors the keeper passed to this process at start ($LISTEN_FDS and $LISTEN_FDNAMES,
// for $LISTEN_PID only) under `name`; each is taken once. The first call reads and unsets the
// variables, so no child inherits them.
std::vector<sandbox::UniqueFd> take_passed(const std::string& name);

// The first descriptor passed under `name` (others of that name are closed), or none.
sandbox::UniqueFd take_passed_one(const std::string& name);

// Stores `fd` under `name` unless `handed_back` (the keeper has it); logs a failure.
void keep(const std::string& name, int fd, bool handed_back);

// Closes the passed descriptors nobody took (names this daemon does not know). Returns their names.
std::vector<std::string> close_unclaimed();

// The whole content of a stored memory file, read from its start whatever its offset (the
// offset is shared with the keeper's copy).
std::string read_bytes(int fd);

}  // namespace hotplugfs::fdstore
