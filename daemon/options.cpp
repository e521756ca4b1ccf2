#include "options.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "support/printable.h"

namespace hotplugfs {
namespace {

constexpr const char* kUsage =
    "Usage: hotplugfsd [OPTIONS] MOUNTPOINT\n"
    "\n"
    "Mount an emulated Linux memory-hotplug sysfs at MOUNTPOINT, which becomes a sysfs root\n"
    "(MOUNTPOINT/devices/system/memory, .../node, .../cpu, devices/virtual/memory_tiering,\n"
    "bus/memory, kernel/mm/numa, module/memory_hotplug).\n"
    "\n"
    "Options:\n"
    "  --config FILE      machine topology (JSON); default: the built-in machine\n"
    "  --foreground       stay in the foreground (default: return once the mount answers)\n"
    "  --allow-other      let other users read the tree (mode bits still apply)\n"
    "  --fast             page-cache mode: reads served by the kernel's page cache\n"
    "                     without asking the daemon (as fast as the kernel's sysfs), but\n"
    "                     not exact under concurrency: a read racing a write of the same\n"
    "                     file can see merged bytes (~600 per 10^6 ops measured), a\n"
    "                     read-back can miss a write while a third process reads the\n"
    "                     block (~10 per 10^6), open() of a read-only file for writing\n"
    "                     succeeds (write() fails EACCES). For huge read-mostly machines\n"
    "                     and benchmarks of readers. Default: the exact mode, where\n"
    "                     every read is one the kernel could have returned\n"
    "                     (--strict and --exact-open name it and change nothing)\n"
    "  --pid-file FILE    write the daemon's PID to FILE once it serves\n"
    "  --log-level LEVEL  trace, debug, info, warn, error or off (default: info)\n"
    "  --log-file FILE    log here (default: stderr in the foreground; once detached,\n"
    "                     syslog as 'hotplugfsd', the journal on systemd machines)\n"
    "  --event-log FILE   append every uevent to FILE as a JSON line\n"
    "  --state FILE       keep the machine's state in FILE: restored on start (created\n"
    "                     from the configuration if missing), rewritten atomically\n"
    "                     after every change\n"
    "\n"
    "D-Bus (org.hotplugfs.HotplugFS, docs/dbus.md):\n"
    "  --bus WHICH        also serve on a bus: system, session, none (default) or a\n"
    "                     D-Bus address; the private socket RUNTIME_DIR/bus is always served\n"
    "  --runtime-dir DIR  where the private socket lives (default: the directory that\n"
    "                     holds MOUNTPOINT, so MOUNTPOINT=/run/hotplugfs/sys serves\n"
    "                     /run/hotplugfs/bus)\n"
    "\n"
    "udev (off unless asked for; a bare machine behaves like a bare kernel):\n"
    "  --rules-dir DIR    apply the *.rules files of DIR to every uevent, like udevd;\n"
    "                     repeatable: files sort by name over all directories, and a\n"
    "                     name in a later DIR replaces the same name in an earlier one\n"
    "  --run-timeout SECS how long a RUN or PROGRAM may take before it is killed, and\n"
    "                     an ATTR write of offline may wait for a slow migration\n"
    "                     (default: 180, udev's event timeout)\n"
    "  --udev-netns PATH  create a private network namespace, bind it at PATH (e.g.\n"
    "                     /run/netns/hotplugfs) and broadcast every processed event\n"
    "                     there as udevd does, for libudev monitors run inside it:\n"
    "                     nsenter --net=PATH udevadm monitor --udev --property\n"
    "\n"
    "  --fuse-debug       print every FUSE request (libfuse's -d; implies --foreground)\n"
    "  -h, --help         show this help\n";

bool takes_value(std::string_view opt) {
    return opt == "--config" || opt == "--pid-file" || opt == "--log-level" ||
           opt == "--log-file" || opt == "--event-log" || opt == "--rules-dir" ||
           opt == "--run-timeout" || opt == "--udev-netns" ||
           opt == "--state" || opt == "--bus" || opt == "--runtime-dir";
}

ParsedOptions usage_error(const std::string& message) {
    std::fprintf(stderr, "hotplugfsd: %s\nTry 'hotplugfsd --help'.\n", printable(message).c_str());
    return ParsedOptions{std::nullopt, 2};
}

}  // namespace

ParsedOptions parse_options(int argc, char** argv) {
    DaemonOptions o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string value;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            value = std::string(arg.substr(eq + 1));
            arg = arg.substr(0, eq);
        } else if (takes_value(arg)) {
            if (i + 1 >= argc) return usage_error(std::string(arg) + " needs a value");
            value = argv[++i];
        }
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return ParsedOptions{std::nullopt, 0};
        }
        if (arg == "--config") o.config = value;
        else if (arg == "--pid-file") o.pid_file = value;
        else if (arg == "--log-file") o.log_file = value;
        else if (arg == "--event-log") o.event_log = value;
        else if (arg == "--log-level") o.log_level = value;
        else if (arg == "--rules-dir") o.rules_dirs.push_back(value);
        else if (arg == "--udev-netns") o.udev_netns = value;
        else if (arg == "--state") o.state_file = value;
        else if (arg == "--bus") o.bus = value;
        else if (arg == "--runtime-dir") o.runtime_dir = value;
        else if (arg == "--run-timeout") {
            char* end = nullptr;
            const double secs = std::strtod(value.c_str(), &end);
            if (value.empty() || *end != '\0' || !(secs > 0) || secs > 86400)
                return usage_error("--run-timeout takes seconds (0 < SECS <= 86400), not '" +
                                   value + "'");
            o.run_timeout_ms = static_cast<long>(secs * 1000);
        }
        else if (arg == "--foreground" || arg == "-f") o.foreground = true;
        else if (arg == "--allow-other") o.allow_other = true;
        else if (arg == "--fast") o.fast = true;
        else if (arg == "--strict" || arg == "--exact-open") continue;  // the default; kept for old command lines
        else if (arg == "--fuse-debug") o.fuse_debug = true;
        else if (arg.starts_with("-")) return usage_error("unknown option " + std::string(arg));
        else if (o.mountpoint.empty()) o.mountpoint = std::string(arg);
        else return usage_error("only one MOUNTPOINT may be given");
    }
    if (o.mountpoint.empty()) return usage_error("MOUNTPOINT is missing");
    if (o.fuse_debug) o.foreground = true;
    return ParsedOptions{o, 0};
}

}  // namespace hotplugfs
