#include "mount_guard.h"

#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace hotplugfs {
namespace {

// Field 5 of /proc/self/mountinfo is the mount point (octal escapes for spaces).
bool is_mounted(const std::string& path) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, point;
        fields >> id >> parent >> dev >> root >> point;
        if (point == path) return true;
    }
    return false;
}

}  // namespace

// A FUSE mount whose daemon died answers nothing: statfs() (never cached, unlike stat()
// of the mount root) fails ENOTCONN. Nobody can use such a mount, so take it away.
std::string prepare_mountpoint(const std::string& path) {
    struct statfs fs{};
    const bool mounted = is_mounted(path);
    if (statfs(path.c_str(), &fs) == 0) {
        struct stat st{};
        if (stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
        if (!S_ISDIR(st.st_mode)) return path + " is not a directory";
        if (mounted) return path + " is already a mount point; unmount it first";
        return "";
    }
    const int err = errno;
    // ECONNABORTED: the connection was torn down while a request was in flight.
    if (err != ENOTCONN && err != ECONNABORTED) return path + ": " + std::strerror(err);
    spdlog::warn("{}: clearing a stale mount left by a daemon that is gone", path);
    if (umount2(path.c_str(), MNT_DETACH) != 0)
        return path + ": cannot clear the stale mount: " + std::strerror(errno);
    return prepare_mountpoint(path);
}

}  // namespace hotplugfs
