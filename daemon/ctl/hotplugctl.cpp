// hotplugctl: the command line of hotplugfs.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "ctl/monitor.h"

namespace {

constexpr const char* kUsage =
    "Usage: hotplugctl COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  monitor    print hotplugfsd's uevents live, like 'udevadm monitor'\n"
    "\n"
    "'hotplugctl COMMAND --help' describes each command.\n";

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    const std::string_view command = argv[1];
    if (command == "-h" || command == "--help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (command == "monitor") return hotplugfs::ctl::monitor_main(argc - 1, argv + 1);
    std::fprintf(stderr, "hotplugctl: unknown command '%s'\nTry 'hotplugctl --help'.\n", argv[1]);
    return 2;
}
