// Command line (options.h).
#include "options.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

namespace load {
namespace {

constexpr const char* kUsage =
    "Usage: hotplugfs-load --daemon PATH [--reduced] [--only LIST] [counts...]\n"
    "\n"
    "Load and resource checks of hotplugfsd (docs/performance.md, \"Load and resources\").\n"
    "Needs root (FUSE mounts). Starts and stops its own daemons and dbus-daemon. Each check\n"
    "prints what it measured and its bounds, PASS or FAIL; the exit status is 1 when a bound\n"
    "failed, 2 on a usage or setup error.\n"
    "\n"
    "  1  lookups of names that do not exist: daemon RSS growth\n"
    "  2  D-Bus method calls from client processes over a private dbus-daemon: all answered,\n"
    "     RSS growth\n"
    "  3  a signal subscriber that never reads its socket while blocks change: FUSE read\n"
    "     latency against the same load without it, RSS growth, the other subscriber's signals\n"
    "  4  clients reading and writing every block, random ones SIGKILLed: no hang, the\n"
    "     daemon's fd count back to its baseline, final states as last written\n"
    "\n"
    "  --daemon PATH           the hotplugfsd to measure (required)\n"
    "  --only LIST             checks to run, e.g. 1,3 (default: 1,2,3,4)\n"
    "  --reduced               CI counts: 100000 lookups, 10000 calls, 3 s phases, 10 s churn;\n"
    "                          read latency (check 3) reported, not bounded\n"
    "                          with 16 clients\n"
    "  --lookups N             (1) default 1000000\n"
    "  --calls N               (2) default 100000\n"
    "  --callers N             (2) default 8\n"
    "  --subscriber-seconds S  (3) length of each phase, default 10\n"
    "  --churn-seconds S       (4) default 60\n"
    "  --churn-clients N       (4) default 64\n"
    "  --kill-every-ms MS      (4) default 25\n"
    "  --rss-slack-kib K       added to every RSS bound (a sanitizer build's allocator)\n"
    "  -h, --help\n";

template <class T>
bool number(std::string_view text, T& out) {
    std::istringstream in{std::string(text)};
    T v{};
    if (!(in >> v) || !in.eof() || v < 0) return false;
    out = v;
    return true;
}

}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
    Options o;
    auto bad = [&](const std::string& why) -> std::optional<Options> {
        std::fprintf(stderr, "hotplugfs-load: %s\n%s", why.c_str(), kUsage);
        exit_code = 2;
        return std::nullopt;
    };
    // --reduced first, so that counts given with it override its own.
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--reduced") {
            o.lookups = 100000;
            o.calls = 10000;
            o.subscriber_seconds = 3;
            o.churn_seconds = 10;
            o.churn_clients = 16;
            o.latency_bounds = false;
        }
    }
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            exit_code = 0;
            return std::nullopt;
        }
        if (a == "--reduced") continue;
        if (i + 1 >= argc) return bad(std::string(a) + " needs a value (or is unknown)");
        const std::string_view v = argv[++i];
        bool ok = true;
        if (a == "--daemon") {
            o.daemon = v;
        } else if (a == "--only") {
            o.only.clear();
            for (char c : v) {
                if (c >= '1' && c <= '4')
                    o.only.insert(c - '0');
                else if (c != ',')
                    ok = false;
            }
        } else if (a == "--lookups") {
            ok = number(v, o.lookups);
        } else if (a == "--calls") {
            ok = number(v, o.calls);
        } else if (a == "--callers") {
            ok = number(v, o.callers) && o.callers > 0;
        } else if (a == "--subscriber-seconds") {
            ok = number(v, o.subscriber_seconds);
        } else if (a == "--churn-seconds") {
            ok = number(v, o.churn_seconds);
        } else if (a == "--churn-clients") {
            ok = number(v, o.churn_clients) && o.churn_clients > 0;
        } else if (a == "--kill-every-ms") {
            ok = number(v, o.kill_every_ms) && o.kill_every_ms > 0;
        } else if (a == "--rss-slack-kib") {
            ok = number(v, o.rss_slack_kib);
        } else {
            return bad("unknown argument " + std::string(a));
        }
        if (!ok) return bad("bad value for " + std::string(a) + ": " + std::string(v));
    }
    if (o.daemon.empty()) return bad("--daemon PATH is required");
    return o;
}

}  // namespace load
