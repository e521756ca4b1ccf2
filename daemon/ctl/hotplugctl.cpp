// hotplugctl: the command line of hotplugfs. Exit codes: 0 done, 1 the operation failed (the
// kernel's message is printed), 2 usage.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "ctl/commands.h"
#include "ctl/monitor.h"
#include "ctl/run.h"
#include "support/printable.h"

namespace {

using namespace hotplugfs::ctl;

void print_usage(std::FILE* out) {
    std::fputs(
        "Usage: hotplugctl [--root DIR | --address ADDRESS | --system | --user] [--json]\n"
        "                  COMMAND [ARGS...]\n"
        "\n"
        "Controls a running hotplugfsd through its D-Bus API (org.hotplugfs.HotplugFS). By\n"
        "default it talks to the private socket DIR/bus of the daemon whose mount is DIR/sys\n"
        "(DIR: --root, else $HOTPLUGFS_ROOT, else /run/hotplugfs).\n"
        "\n"
        "Commands:\n",
        out);
    for (const Command* c = kCommands; c->name; ++c)
        std::fprintf(out, "  %-9s %s\n", c->name, c->help);
    std::fputs(
        "  monitor   print uevents live, like 'udevadm monitor'\n"
        "  run       run a program with the emulated memory sysfs in place of /sys\n"
        "\n"
        "  --json    machine-readable output: {\"ok\":true,...} or {\"ok\":false,\"errno\":N,...}\n"
        "'hotplugctl COMMAND --help' describes each command.\n",
        out);
}

bool wants_help(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    GlobalOptions global;
    const int at = parse_global(argc, argv, global);
    if (at < 0) return 2;
    if (at >= argc || !std::strcmp(argv[at], "--help") || !std::strcmp(argv[at], "-h")) {
        print_usage(at >= argc ? stderr : stdout);
        return at >= argc ? 2 : 0;
    }
    const std::string_view name = argv[at];
    if (name == "monitor") return monitor_main(argc - at, argv + at, global);
    if (name == "run") return run_main(argc - at, argv + at);
    for (const Command* c = kCommands; c->name; ++c) {
        if (name != c->name) continue;
        if (wants_help(argc - at, argv + at)) {
            std::printf("Usage: hotplugctl %s %s\n\n%s\n", c->name, c->args, c->help);
            return 0;
        }
        Context ctx;
        ctx.command = c;
        ctx.json = global.json;
        ctx.target = global.target;
        try {
            return c->run(ctx, Args(argv + at + 1, argv + argc));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "hotplugctl: %s\n", hotplugfs::printable(e.what()).c_str());
            return 1;
        }
    }
    std::fprintf(stderr, "hotplugctl: unknown command '%s'\nTry 'hotplugctl --help'.\n",
                 hotplugfs::printable(argv[at]).c_str());
    return 2;
}
