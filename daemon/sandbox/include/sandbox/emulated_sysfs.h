// The emulated tree over /sys in a private mount namespace, for programs that only know /sys.
//
// A sysfs root served by the daemon (ROOT) holds devices/system/memory, devices/system/node,
// devices/system/cpu, devices/virtual/memory_tiering, bus/memory, bus/cpu, bus/memory_tiering,
// kernel/mm/numa and module/memory_hotplug. A child process that enters() an EmulatedSysfs gets its
// own mount namespace where those directories are bound over the host's; the host's /sys is
// never touched and the binds vanish with the namespace (that is, with the last process in it).
//
// Everything is prepared by the constructor so that enter() allocates nothing and calls only
// async-signal-safe system calls: it is meant for the child of fork() in a multi-threaded
// process (the program runner, `hotplugctl run`).
#pragma once

#include <string>
#include <vector>

namespace hotplugfs::sandbox {

struct SysfsBind {
    std::string source;  // ROOT/devices/system/memory
    std::string target;  // /sys/devices/system/memory
    // A required bind whose host target exists must succeed: a program that was promised the
    // emulated memory sysfs must never write to the real one instead.
    bool required = false;
};

class EmulatedSysfs {
  public:
    struct Outcome {
        int error = 0;         // 0, or the errno that stopped enter()
        int failed_bind = -1;  // index into binds() of the bind that failed, -1 for the setup
        unsigned bound = 0;    // bit i set: binds()[i] is in place
    };

    // tree_root: the daemon's sysfs root (ROOT). sys_root: where the host's sysfs is seen.
    explicit EmulatedSysfs(const std::string& tree_root, const std::string& sys_root = "/sys");

    const std::vector<SysfsBind>& binds() const { return binds_; }

    // In a single-threaded child only: unshare(CLONE_NEWNS), make every mount private (so
    // nothing propagates back to the host), then bind each source over its target where both
    // exist. Binds whose source or target is missing are skipped, except as `required` says.
    // A target the host lacks under a directory it has (a container without a memory sysfs)
    // gets a writable place first: a tmpfs over that directory, holding its old entries
    // (bound back) and the missing target.
    // Each bind is checked afterwards (the target must now be the source's inode).
    Outcome enter() const noexcept;

    // The targets whose bits are set in `bound` (for logs; allocates, so parent side only).
    std::vector<std::string> bound_targets(unsigned bound) const;

    // One line describing a failed Outcome (parent side).
    std::string describe(const Outcome& outcome) const;

  private:
    // A host directory to cover with a tmpfs, and what it held (prepared before fork).
    struct Overlay {
        std::string dir;
        struct Entry {
            std::string name, path;  // path: dir/name
            char type;               // 'd' directory, 'f' other file, 'l' symlink
            std::string link;        // a symlink's target
        };
        std::vector<Entry> entries;
        std::vector<std::string> missing;  // targets to create in the tmpfs
    };
    int cover(const Overlay& overlay) const noexcept;

    std::vector<SysfsBind> binds_;
    std::vector<Overlay> overlays_;
};

}  // namespace hotplugfs::sandbox
