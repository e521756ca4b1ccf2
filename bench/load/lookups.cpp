// Check 1: lookups of names that do not exist must not grow the daemon. Half the names can
// never exist (the kernel keeps a negative entry for each, so every name is new: the
// daemon sees one LOOKUP per stat()), half may appear (memoryN, nodeN: asked every time).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "../bench_support.h"
#include "checks.h"

namespace load {
namespace {

constexpr long kBoundKib = 8 * 1024;

struct Dir {
    std::string rel;     // under the mount
    std::string prefix;  // of the names looked up there
    int fd = -1;
};

}  // namespace

Verdict check_lookups(const Options& o, const std::string& dir) {
    Verdict v("1. " + std::to_string(o.lookups) + " lookups of names that do not exist");
    bench::Daemon d(o.daemon, dir, "lookups");
    d.start(std::nullopt, {});
    std::vector<Dir> dirs = {
        {"", "nosuch-"},
        {"devices/system/memory", "nosuch-"},
        {"devices/system/memory", "memory"},  // may appear: numbers far above the last block
        {"devices/system/memory/memory0", "nosuch-"},
        {"devices/system/memory/memory72", "nosuch-"},
        {"devices/system/node", "node"},
        {"devices/system/node/node0", "nosuch-"},
        {"module/memory_hotplug/parameters", "nosuch-"},
    };
    for (auto& x : dirs) x.fd = bench::open_dir(d.sys() + "/" + x.rel);
    size_t unexpected = 0;
    std::string first_unexpected;
    size_t done = 0;
    auto run = [&](size_t n) {
        for (size_t i = 0; i < n; ++i, ++done) {
            if ((done & 0xfff) == 0) bench::check_interrupted();
            const Dir& x = dirs[done % dirs.size()];
            const std::string name = x.prefix + std::to_string(1000000 + done);
            struct stat st;
            const int err = fstatat(x.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
            if (err != ENOENT && unexpected++ == 0)
                first_unexpected =
                    x.rel + "/" + name + ": " + (err ? std::strerror(err) : "exists");
        }
    };
    const long rss_start = bench::rss_kib(d.pid());
    run(o.lookups / 100);  // warm-up: the threads' first requests, allocator caches
    const long before = bench::rss_kib(d.pid());
    const uint64_t t0 = bench::now_ns();
    run(o.lookups);
    const double secs = static_cast<double>(bench::now_ns() - t0) / 1e9;
    const long after = bench::rss_kib(d.pid());
    for (auto& x : dirs) close(x.fd);
    v.info("daemon RSS: " + mib(rss_start) + " after start, " + mib(before) + " after " +
           std::to_string(o.lookups / 100) + " warm-up lookups, " + mib(after) + " after " +
           std::to_string(o.lookups) + " more (" + std::to_string(dirs.size()) + " directories, " +
           std::to_string(static_cast<long>(static_cast<double>(o.lookups) / secs)) +
           " lookups/s)");
    v.bound("RSS after - before " + kib_delta(after - before),
            "<= " + mib(kBoundKib + o.rss_slack_kib),
            after - before <= kBoundKib + o.rss_slack_kib);
    if (unexpected)
        v.fail(std::to_string(unexpected) +
               " lookups did not answer ENOENT, first: " + first_unexpected);
    if (!d.running() || bench::rss_kib(d.pid()) < 0) v.fail("the daemon died");
    d.stop();
    return v;
}

}  // namespace load
