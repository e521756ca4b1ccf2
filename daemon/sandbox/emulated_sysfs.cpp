#include "sandbox/emulated_sysfs.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace hotplugfs::sandbox {
namespace {

// The directories a memory-hotplug tool reads, relative to a sysfs root. Only the memory
// directory is required: it is where programs write (`online`, `state`, `probe`).
// The CPU directories go with the node directory: nodeK/cpulist names the configured CPUs,
// and a topology reader (hwloc) that found the host's CPUs beside the emulated nodes would
// see nodes whose CPUs do not exist. The memory tiers list the emulated nodes too.
struct Relative {
    const char* path;
    bool required;
};
constexpr Relative kBinds[] = {
    {"devices/system/memory", true},
    {"devices/system/node", false},
    {"devices/system/cpu", false},
    {"bus/memory", false},
    {"bus/cpu", false},
    {"devices/virtual/memory_tiering", false},
    {"bus/memory_tiering", false},
    {"kernel/mm/numa", false},
    {"module/memory_hotplug", false},
};

std::string join(const std::string& root, const char* relative) {
    std::string out = root;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    if (out != "/") out += '/';
    return out + relative;
}

bool is_dir(const char* path, struct stat* st) {
    return ::stat(path, st) == 0 && S_ISDIR(st->st_mode);
}

// Binds one directory; 0 when bound, -1 when skipped, else an errno. Async-signal-safe.
int bind_one(const SysfsBind& bind) {
    struct stat source {};
    struct stat target {};
    const bool have_source = is_dir(bind.source.c_str(), &source);
    const bool have_target = is_dir(bind.target.c_str(), &target);
    if (!have_target) return -1;
    if (!have_source) return bind.required ? ENOENT : -1;
    if (::mount(bind.source.c_str(), bind.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return errno;
    // A bind that did not land (an overmount we cannot see, a racing unmount) must not leave
    // the program looking at the host's directory while it believes it sees the emulation.
    struct stat now {};
    if (::stat(bind.target.c_str(), &now) != 0) return errno;
    if (now.st_dev != source.st_dev || now.st_ino != source.st_ino) return EXDEV;
    return 0;
}

}  // namespace

EmulatedSysfs::EmulatedSysfs(const std::string& tree_root, const std::string& sys_root) {
    for (const Relative& r : kBinds)
        binds_.push_back({join(tree_root, r.path), join(sys_root, r.path), r.required});
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const SysfsBind& b : binds_) {
        const fs::path target(b.target);
        const std::string dir = target.parent_path().string();
        if (fs::exists(target, ec) || !fs::is_directory(dir, ec) || !fs::is_directory(b.source, ec))
            continue;
        auto it = std::find_if(overlays_.begin(), overlays_.end(),
                               [&](const Overlay& o) { return o.dir == dir; });
        if (it == overlays_.end()) {
            Overlay o{dir, {}, {}};
            for (const auto& e : fs::directory_iterator(dir, ec)) {
                const auto st = e.symlink_status(ec);
                Overlay::Entry entry{e.path().filename().string(), e.path().string(), 'f', ""};
                if (fs::is_symlink(st)) entry.type = 'l', entry.link = fs::read_symlink(e.path(), ec).string();
                else if (fs::is_directory(st)) entry.type = 'd';
                o.entries.push_back(std::move(entry));
            }
            overlays_.push_back(std::move(o));
            it = overlays_.end() - 1;
        }
        it->missing.push_back(b.target);
    }
}

// Async-signal-safe: system calls and stack buffers only.
int EmulatedSysfs::cover(const Overlay& o) const noexcept {
    const int old = ::open(o.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (old < 0) return errno;
    int err = 0;
    if (::mount("tmpfs", o.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
        err = errno;
    // The old entries stay reachable through `old`: /proc/self/fd/N/NAME.
    char prefix[64] = "/proc/self/fd/";
    char digits[16];
    int n = 0;
    for (int v = old; v > 0 || n == 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
    size_t len = std::strlen(prefix);
    while (n > 0) prefix[len++] = digits[--n];
    prefix[len++] = '/';
    prefix[len] = '\0';
    for (const auto& e : o.entries) {
        if (err) break;
        char source[512];
        if (len + e.name.size() + 1 > sizeof source) continue;
        std::memcpy(source, prefix, len);
        std::memcpy(source + len, e.name.c_str(), e.name.size() + 1);
        if (e.type == 'l') {
            if (::symlink(e.link.c_str(), e.path.c_str()) != 0) err = errno;
            continue;
        }
        const int made = e.type == 'd' ? ::mkdir(e.path.c_str(), 0755)
                                       : ::close(::open(e.path.c_str(), O_CREAT | O_WRONLY, 0644));
        if (made != 0 || ::mount(source, e.path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
            err = errno;
    }
    for (const auto& target : o.missing)
        if (!err && ::mkdir(target.c_str(), 0755) != 0) err = errno;
    ::close(old);
    return err;
}

EmulatedSysfs::Outcome EmulatedSysfs::enter() const noexcept {
    Outcome out;
    if (::unshare(CLONE_NEWNS) != 0) {
        out.error = errno;
        return out;
    }
    // Mounts are usually shared with the host (systemd makes / shared): without this, the binds
    // below would propagate into the host's namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        out.error = errno;
        return out;
    }
    for (const Overlay& o : overlays_) {
        if (const int err = cover(o)) {
            out.error = err;
            return out;
        }
    }
    for (std::size_t i = 0; i < binds_.size(); ++i) {
        const int result = bind_one(binds_[i]);
        if (result == 0) {
            out.bound |= 1U << i;
        } else if (result > 0) {
            out.error = result;
            out.failed_bind = static_cast<int>(i);
            return out;
        }
    }
    return out;
}

std::vector<std::string> EmulatedSysfs::bound_targets(unsigned bound) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < binds_.size(); ++i)
        if (bound & (1U << i)) out.push_back(binds_[i].target);
    return out;
}

std::string EmulatedSysfs::describe(const Outcome& outcome) const {
    if (outcome.error == 0) return "";
    const std::string reason = std::strerror(outcome.error);
    if (outcome.failed_bind < 0 || outcome.failed_bind >= static_cast<int>(binds_.size()))
        return "cannot set up a private mount namespace: " + reason;
    const SysfsBind& b = binds_[static_cast<std::size_t>(outcome.failed_bind)];
    return "cannot bind " + b.source + " over " + b.target + ": " + reason;
}

}  // namespace hotplugfs::sandbox
