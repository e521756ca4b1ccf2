// Command line of hotplugfsd.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hotplugfs {

struct DaemonOptions {
    std::string mountpoint;
    std::optional<std::string> config;
    std::optional<std::string> pid_file;
    std::optional<std::string> log_file;
    std::optional<std::string> event_log;
    std::optional<std::string> state_file;  // --state: persist the machine there
    std::string bus = "none";                // none, system, session or an address
    std::optional<std::string> runtime_dir;  // default: the mount point's directory
    std::vector<std::string> rules_dirs;
    std::optional<std::string> udev_netns;
    long run_timeout_ms = 180000;
    std::string log_level = "info";
    bool foreground = false;
    bool allow_other = false;
    bool fast = false;  // --fast: the page-cache mode; default: the exact mode
    bool fuse_debug = false;
};

struct ParsedOptions {
    std::optional<DaemonOptions> options;  // nullopt: exit with `exit_code`
    int exit_code = 0;
};

// Prints usage or the error itself; exit code 2 for usage errors, 0 for --help.
ParsedOptions parse_options(int argc, char** argv);

}  // namespace hotplugfs
