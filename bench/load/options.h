// The command line of hotplugfs-load.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>

namespace load {

struct Options {
    std::string daemon;              // the hotplugfsd executable
    std::set<int> only{1, 2, 3, 4};  // which checks run
    size_t lookups = 1000000;        // 1: stat()s of names that do not exist
    size_t calls = 100000;           // 2: D-Bus method calls, over all callers
    int callers = 8;                 // 2: client processes
    double subscriber_seconds = 10;  // 3: each of the two phases
    double churn_seconds = 60;       // 4: duration
    int churn_clients = 64;          // 4: client processes alive at any time
    double kill_every_ms = 25;       // 4: one SIGKILL this often
    long rss_slack_kib = 0;          // added to every RSS bound (sanitizer builds)
    // 3: whether read latency is a bound or only reported. --reduced (CI, a sanitizer build on a
    // shared machine) reports it: a timing there says more about the neighbours than the daemon.
    bool latency_bounds = true;
};

// Parses argv; prints the usage and returns nullopt for --help (exit 0) or a bad argument
// (exit 2, in `exit_code`).
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace load
