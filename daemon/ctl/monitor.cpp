#include "ctl/monitor.h"

#include "bus_api/bus_names.h"
#include "support/printable.h"

#include <fnmatch.h>
#include <signal.h>
#include <unistd.h>

#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hotplugfs::ctl {
namespace {

constexpr const char* kUsage =
    "Usage: hotplugctl monitor [--event-log FILE] [OPTIONS]\n"
    "\n"
    "Print hotplugfsd's uevents as they happen, in the format of 'udevadm monitor': KERNEL\n"
    "lines when the emulated kernel emits an event, UDEV lines once the daemon's udev rules\n"
    "processed it. Reads the daemon's --event-log FILE and follows it; Ctrl-C stops.\n"
    "\n"
    "  --event-log FILE          the daemon's event log (required)\n"
    "  -k, --kernel              print the kernel uevents\n"
    "  -u, --udev                print the events after rule processing\n"
    "                            (default: both)\n"
    "  -p, --property            print each event's properties\n"
    "  -s, --subsystem-match S   only events of subsystem S (a glob; repeatable)\n"
    "  --replay                  first print the events already in the log\n"
    "  -h, --help                show this help\n";

struct Options {
    std::string event_log;
    bool kernel = false, udev = false, property = false, replay = false;
    std::vector<std::string> subsystems;
};

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop = true;
}

std::optional<Options> parse(int argc, char** argv, int& exit_code) {
    Options o;
    exit_code = 2;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= argc) return std::nullopt;
            return std::string(argv[++i]);
        };
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            exit_code = 0;
            return std::nullopt;
        } else if (a == "-k" || a == "--kernel")
            o.kernel = true;
        else if (a == "-u" || a == "--udev")
            o.udev = true;
        else if (a == "-p" || a == "--property")
            o.property = true;
        else if (a == "--replay")
            o.replay = true;
        else if (a == "--event-log" || a == "-s" || a == "--subsystem-match") {
            const auto v = value();
            if (!v) {
                std::fprintf(stderr, "hotplugctl monitor: %s needs a value\n", printable(argv[i]).c_str());
                return std::nullopt;
            }
            (a == "--event-log" ? o.event_log = *v : o.subsystems.emplace_back(*v));
        } else {
            std::fprintf(
                stderr,
                "hotplugctl monitor: unknown argument %s\nTry 'hotplugctl monitor --help'.\n",
                argv[i]);
            return std::nullopt;
        }
    }
    if (!o.kernel && !o.udev) o.kernel = o.udev = true;
    return o;
}

bool wanted(const Options& o, const nlohmann::ordered_json& event) {
    const std::string source = event.value("source", "kernel");
    if (source != "kernel" && source != "udev") return false;  // the log's own "lost" lines
    if (source == "kernel" ? !o.kernel : !o.udev) return false;
    if (o.subsystems.empty()) return true;
    const std::string subsystem = event.value("subsystem", "");
    for (const auto& pattern : o.subsystems)
        if (fnmatch(pattern.c_str(), subsystem.c_str(), 0) == 0) return true;
    return false;
}

void print_header(const Options& o) {
    std::printf("monitor will print the received events for:\n%s%s\n",
                o.udev ? "UDEV - the event which udev sends out after rule processing\n" : "",
                o.kernel ? "KERNEL - the kernel uevent\n" : "");
    std::fflush(stdout);
}

void print(const Options& o, const nlohmann::ordered_json& e) {
    const long long usec = e.value("monotonic_usec", 0LL);
    const std::string source = e.value("source", "kernel") == "kernel" ? "KERNEL" : "UDEV";
    std::printf("%-6s[%lld.%06lld] %-8s %s (%s)\n", source.c_str(), usec / 1000000, usec % 1000000,
                e.value("action", "").c_str(), e.value("devpath", "").c_str(),
                e.value("subsystem", "").c_str());
    if (o.property) {
        const auto env = e.find("env");
        if (env != e.end() && env->is_object())
            for (const auto& [key, value] : env->items())
                std::printf("%s=%s\n", key.c_str(),
                            value.is_string() ? value.get_ref<const std::string&>().c_str()
                                              : value.dump().c_str());
        std::printf("\n");
    }
    std::fflush(stdout);
}

int on_uevent(sd_bus_message* m, void* userdata, sd_bus_error*) {
    const Options& o = *static_cast<const Options*>(userdata);
    uint64_t seqnum = 0;
    const char *action = nullptr, *devpath = nullptr, *subsystem = nullptr;
    if (sd_bus_message_read(m, "tsss", &seqnum, &action, &devpath, &subsystem) < 0) return 0;
    nlohmann::ordered_json env = nlohmann::ordered_json::object();
    if (sd_bus_message_enter_container(m, 'a', "{ss}") >= 0) {
        const char *key = nullptr, *value = nullptr;
        while (sd_bus_message_read(m, "{ss}", &key, &value) > 0) env[key] = value;
        sd_bus_message_exit_container(m);
    }
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);  // udevadm monitor stamps events when they arrive
    const nlohmann::ordered_json e = {
        {"source", "kernel"},     {"monotonic_usec", ts.tv_sec * 1000000LL + ts.tv_nsec / 1000},
        {"action", action},       {"devpath", devpath},
        {"subsystem", subsystem}, {"env", env}};
    if (wanted(o, e)) print(o, e);
    return 0;
}

int follow_signals(const Options& o, const GlobalOptions& global) {
    std::unique_ptr<Client> client;
    try {
        client = std::make_unique<Client>(global.target);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotplugctl monitor: %s\n", printable(e.what()).c_str());
        return 1;
    }
    sd_bus* bus = client->bus();
    int r = sd_bus_match_signal(bus, nullptr, nullptr, bus::kManagerPath, bus::kManagerInterface,
                                "Uevent", on_uevent, const_cast<Options*>(&o));
    if (r < 0) {
        std::fprintf(stderr, "hotplugctl monitor: cannot subscribe: %s\n", std::strerror(-r));
        return 1;
    }
    print_header(o);
    while (!g_stop) {
        r = sd_bus_process(bus, nullptr);
        if (r < 0) {
            std::fprintf(stderr, "hotplugctl monitor: %s\n", std::strerror(-r));
            return 1;
        }
        if (r == 0) sd_bus_wait(bus, 200000);
    }
    return 0;
}

}  // namespace

int monitor_main(int argc, char** argv, const GlobalOptions& global) {
    int exit_code = 0;
    const std::optional<Options> o = parse(argc, argv, exit_code);
    if (!o) return exit_code;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (o->event_log.empty()) return follow_signals(*o, global);
    std::ifstream in(o->event_log);
    if (!in) {
        std::perror(("hotplugctl monitor: " + o->event_log).c_str());
        return 1;
    }
    if (!o->replay) in.seekg(0, std::ios::end);
    print_header(*o);
    std::string line, partial;
    while (!g_stop) {
        if (!std::getline(in, line)) {
            // At the end (or mid-line while the daemon writes): keep the piece, wait, retry.
            partial += line;
            in.clear();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        line = partial + line;
        partial.clear();
        const auto event = nlohmann::ordered_json::parse(line, nullptr, false);
        if (event.is_discarded() || !event.is_object()) continue;
        try {
            if (wanted(*o, event)) print(*o, event);
        } catch (const nlohmann::json::exception&) {
            // A line of another shape (a newer daemon, a hand edit): skip it.
        }
    }
    return 0;
}

}  // namespace hotplugfs::ctl
