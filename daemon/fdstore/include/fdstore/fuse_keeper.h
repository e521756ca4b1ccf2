// Keeping the FUSE connection across restarts. A FUSE mount lives as long as its /dev/fuse
// connection: while a keeper holds the descriptor, the kernel queues requests instead of
// failing them, and the next daemon answers them on the same descriptor. Stored under two
// names (docs/restarts.md): "fuse", the descriptor, and "fuse-init", a sealed memory file with
// what the next daemon needs to go on where the kernel is (InitRecord).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "fuse/fuse_server.h"

namespace hotplugfs::fdstore {

inline constexpr const char* kFuseName = "fuse";
inline constexpr const char* kInitName = "fuse-init";

// The content of "fuse-init": where the connection is mounted and its INIT exchange.
struct InitRecord {
    std::string mountpoint;  // absolute, as the daemon resolved it
    std::string device;      // the mount's "major:minor" (/proc/self/mountinfo)
    InitExchange init;
};

std::string format_init_record(const InitRecord& record);
// nullopt (and `why` says why) for anything but a record format_init_record wrote.
std::optional<InitRecord> parse_init_record(const std::string& text, std::string& why);

// At start: the connection a keeper handed back for `mountpoint`, if it is still the one
// mounted there and alive. A handed-back connection that cannot be resumed is given up
// (removed from the store and closed): the daemon then mounts afresh.
std::optional<FuseResume> take_fuse_connection(const std::string& mountpoint);
// The same, from descriptors already taken (take_passed()); takes "fuse" and "fuse-init" only.
std::optional<FuseResume> take_fuse_connection(
    std::multimap<std::string, sandbox::UniqueFd>& passed, const std::string& mountpoint);

// Once the mount answers: hands the connection to the keeper, if there is one.
void keep_fuse_connection(const std::string& mountpoint, const FuseConnection& connection);

// On an orderly stop: the keeper closes its copies (the mount is gone or going).
void release_fuse_connection();

// The "major:minor" of the mount at `mountpoint` (the last one there), or "" if none.
std::string mount_device(const std::string& mountpoint);

}  // namespace hotplugfs::fdstore
