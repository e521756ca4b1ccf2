// hotplugfs-load: load and resource checks of hotplugfsd, each with a bound the tool checks
// (docs/performance.md, "Load and resources"):
//   1  10^6 lookups of names that do not exist: RSS growth
//   2  10^5 D-Bus method calls from 8 processes over a private dbus-daemon: all answered, RSS
//   3  a signal subscriber that never reads while blocks change: read latency, RSS, signals
//   4  64 clients reading and writing every block for 60 s, random ones SIGKILLed: no hang,
//      no leaked fds, final states as last written
// --reduced runs the counts CI uses. Exit status 1 when a bound failed, 2 on a setup error.
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <exception>

#include "bench_support.h"
#include "load/checks.h"
#include "load/options.h"

// The parts, under bench/load/: options (command line), verdict (what a check reports),
// processes (/proc counters, shared memory, forked clients), private_bus (a dbus-daemon),
// bus_client (the daemon's D-Bus names, a connection), and one file per check: lookups,
// dbus_calls, slow_subscriber, kill_churn.
int main(int argc, char** argv) {
    int exit_code = 2;
    const auto opt = load::parse_options(argc, argv, exit_code);
    if (!opt) return exit_code;
    if (geteuid() != 0) {
        std::fprintf(stderr, "hotplugfs-load: needs root (FUSE mounts)\n");
        return 2;
    }
    bench::install_signal_handlers();
    // Daemons detach from their start command; as subreaper the tool becomes their parent.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    using Check = load::Verdict (*)(const load::Options&, const std::string&);
    const Check checks[] = {load::check_lookups, load::check_dbus_calls,
                            load::check_slow_subscriber, load::check_kill_churn};
    int failed = 0;
    try {
        bench::TempDir tmp;
        for (int n : opt->only) {
            const load::Verdict v = checks[n - 1](*opt, tmp.path());
            v.print();
            if (!v.passed()) ++failed;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotplugfs-load: error: %s\n", e.what());
        return 2;
    }
    std::printf("hotplugfs-load: %s (%d of %zu checks failed)\n", failed ? "FAIL" : "PASS", failed,
                opt->only.size());
    return failed ? 1 : 0;
}
