// hotplugfsd: loads a machine, mounts its memory-hotplug sysfs and serves it.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "bus/bus_service.h"
#include "config/config_loader.h"
#include "model/live_machine.h"
#include "events/emulated_udev.h"
#include "events/event_log.h"
#include "fdstore/fd_store.h"
#include "fdstore/fuse_keeper.h"
#include "fdstore/handover.h"
#include "fuse/fuse_server.h"
#include "logging.h"
#include "mount_guard.h"
#include "options.h"
#include "persist/state_file.h"
#include "sandbox/safe_open.h"
#include "support/printable.h"

namespace hotplugfs {
namespace {

std::optional<hotplug::Machine> load_machine(const DaemonOptions& o, Platform& platform,
                                            hotplug::MachineSpec& loaded_spec) {
    hotplug::MachineSpec spec = hotplug::default_machine_spec();
    if (o.config) {
        auto loaded = config::load_config_file(*o.config);
        if (auto* err = std::get_if<config::ConfigError>(&loaded)) {
            std::fprintf(stderr, "hotplugfsd: %s\n", printable(err->message()).c_str());
            return std::nullopt;
        }
        spec = std::get<hotplug::MachineSpec>(std::move(loaded));
    }
    platform = Platform{spec.arch, spec.virt};
    loaded_spec = spec;
    auto built = hotplug::Machine::build(spec);
    if (!built) {
        std::fprintf(stderr, "hotplugfsd: %s: %s\n",
                     printable(o.config.value_or("built-in machine")).c_str(),
                     printable(built.error().message).c_str());
        return std::nullopt;
    }
    if (o.state_file) {  // the saved machine, if there is one
        auto opened = persist::open(*o.state_file, spec, std::move(built.value()));
        if (auto* err = std::get_if<persist::StateError>(&opened)) {
            std::fprintf(stderr, "hotplugfsd: %s\n", printable(err->message()).c_str());
            return std::nullopt;
        }
        return std::get<hotplug::Machine>(std::move(opened));
    }
    return std::move(built.value());
}

// Daemon mode: the parent waits until the child's mount answers, then exits 0.
// Returns the fd the child reports readiness on (-1 in the foreground).
int daemonize() {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    const pid_t pid = fork();
    if (pid < 0) std::exit(1);
    if (pid > 0) {
        close(fds[1]);
        char ok = 0;
        const bool ready = read(fds[0], &ok, 1) == 1 && ok == 'R';
        std::_Exit(ready ? 0 : 1);
    }
    close(fds[0]);
    setsid();
    return fds[1];
}

void detach_stdio() {
    const int null = open("/dev/null", O_RDWR);
    if (null < 0) return;
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) close(null);
}

EmulatedUdev::Settings udev_settings(const DaemonOptions& o, const Platform& platform,
                                     const std::string& mountpoint) {
    return EmulatedUdev::Settings{
        o.rules_dirs, o.udev_netns,
        EventPipeline::Settings{mountpoint, std::chrono::milliseconds(o.run_timeout_ms), platform}};
}

// The D-Bus API: always on the private socket in the runtime directory, on a bus if asked.
std::unique_ptr<bus::BusService> start_bus(const DaemonOptions& o, LiveMachine& live,
                                           const std::string& mountpoint,
                                           const EventLog* event_log) {
    const std::filesystem::path dir =
        o.runtime_dir ? std::filesystem::path(*o.runtime_dir)
                      : std::filesystem::path(mountpoint).parent_path();
    if (o.runtime_dir) mkdir(dir.c_str(), 0755);  // one level, like systemd's RuntimeDirectory=
    const std::string socket = (dir / "bus").string();
    try {
        std::function<std::string()> event_log_state;
        if (event_log) event_log_state = std::bind_front(&EventLog::state, event_log);
        auto service = std::make_unique<bus::BusService>(
            bus::Backend{live, {}, event_log_state},
            bus::BusService::Options{o.bus, socket, fdstore::take_passed_one(fdstore::kBusName)});
        service->start();
        return service;
    } catch (const std::exception& e) {
        spdlog::error("D-Bus: {}", e.what());
        return nullptr;
    }
}

// Once the mount answers: the pid file, systemd, and the parent of a daemon that detaches.
void announce_ready(const DaemonOptions& o, int ready_fd, DaemonLog& log) {
    // Renamed into place: the file appears whole, and whatever took the name since start-up
    // is replaced, never followed.
    if (o.pid_file) {
        const std::string pid = std::to_string(getpid()) + '\n';
        if (const std::string why = persist::write_atomically(*o.pid_file, pid); !why.empty())
            spdlog::error("--pid-file {}: {}", *o.pid_file, why);
    }
    sd_notify(0, "READY=1");  // a no-op unless systemd (Type=notify) started us
    if (ready_fd >= 0) {
        log.detached();
        detach_stdio();
        const char ok = 'R';
        if (write(ready_fd, &ok, 1) != 1) spdlog::warn("could not report readiness");
        close(ready_fd);
    }
}

// How this process executes its program again for a planned restart.
struct Restart {
    std::string executable;  // fdstore::started_executable()
    char** argv;
    bool handed_over;  // this process was started so, by a predecessor
    bool detached;     // it had left its terminal (and must not fork again)
};

// What requests read before the handover may take; beyond, a waiting one ends as if its
// caller was signalled, and the rest of the daemon is waited for no longer.
constexpr std::chrono::seconds kHandoverPatience{5};

// SIGHUP, once every FUSE request read is answered and no more is read: the rest of the daemon
// comes to rest, then this process executes the program again (the installed one, after an
// upgrade), handing over the connection, the open files and the D-Bus socket. Returns only
// if that failed: the daemon then serves on.
void hand_over(FuseServer& server, LiveMachine& live, EmulatedUdev* udev,
               const bus::BusService& bus_service, const std::string& mountpoint,
               const Restart& restart) {
    spdlog::info("restarting in place as {}", restart.executable);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld", static_cast<long long>(monotonic_us()));
    const auto deadline = std::chrono::steady_clock::now() + kHandoverPatience;
    // The events of the requests answered: through the rules and broadcast, none left behind.
    if (udev && !udev->drain(deadline))
        spdlog::warn("restart: events the rules still process are not broadcast");
    // No change from D-Bus or a rule from now on: each is persisted and published whole, or
    // is made by the next daemon.
    std::unique_lock operation(live.operation_lock(), std::defer_lock);
    while (!operation.try_lock() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!operation.owns_lock()) spdlog::warn("restart: an operation is still running");
    if (!server.drain_notifications(deadline))
        spdlog::warn("restart: the kernel may cache names the next daemon does not know");

    std::string why;
    auto connection = server.connection();
    sandbox::UniqueFd init, handles;
    if (!connection) {
        why = "the FUSE connection is not ready";
    } else {
        const std::string record = fdstore::format_init_record(
            {mountpoint, fdstore::mount_device(mountpoint), connection->init});
        init = fdstore::sealed_memfd(fdstore::kInitName, record, why);
        if (init)
            handles = fdstore::sealed_memfd(fdstore::kHandlesName, server.export_handles(), why);
    }
    if (init && handles) {
        std::vector<std::pair<std::string, int>> fds{{fdstore::kInitName, init.get()},
                                                     {fdstore::kFuseName, connection->fd},
                                                     {fdstore::kHandlesName, handles.get()}};
        // What a keeper holds goes over too, so the next program neither stores it again nor
        // makes another.
        if (connection->inflight >= 0) fds.emplace_back(fdstore::kInflightName, connection->inflight);
        if (bus_service.socket_fd() >= 0)
            fds.emplace_back(fdstore::kBusName, bus_service.socket_fd());
        if (udev && udev->netns()) fds.emplace_back(fdstore::kUdevNetnsName, udev->netns()->fd());
        why = fdstore::reexec(restart.executable, restart.argv, fds, restart.detached);
    }
    spdlog::error("cannot restart in place: {}; serving on", why);
    sd_notify(0, "READY=1\nSTATUS=the restart failed, the old daemon serves on");
}

int serve(const DaemonOptions& o, hotplug::Machine machine, const hotplug::MachineSpec& spec,
          const Platform& platform, const std::string& mountpoint, DaemonLog& log,
          std::unique_ptr<EventLog> event_log, std::optional<FuseResume> resume,
          Restart restart) {
    // A process a handover started is the daemon already: it does not fork again.
    const int ready_fd = o.foreground || restart.handed_over ? -1 : daemonize();
    if (ready_fd >= 0) log.forked();
    if (restart.handed_over && restart.detached) {
        log.forked();
        log.detached();
    }
    restart.detached = restart.detached || ready_fd >= 0;
    LiveMachine live(spec, std::move(machine), realtime_ns(),
                     o.fast ? fsmodel::ChangingFiles::CachedContent
                            : fsmodel::ChangingFiles::LikeSysfs);
    if (o.state_file)
        live.set_persist_hook(hotplugfs::persist::persister(*o.state_file, live.snapshot()));
    FuseOptions fuse_options;
    fuse_options.allow_other = o.allow_other;
    fuse_options.fast = o.fast;
    fuse_options.debug = o.fuse_debug;
    FuseServer server(live, fuse_options);  // the first listener: the kernel's caches
    if (event_log) live.subscribe(*event_log);
    std::unique_ptr<EmulatedUdev> udev;
    try {
        udev = EmulatedUdev::start(udev_settings(o, platform, mountpoint), live, event_log.get(),
                                   fdstore::take_passed_one(fdstore::kUdevNetnsName));
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
    std::unique_ptr<bus::BusService> bus_service =
        start_bus(o, live, mountpoint, event_log.get());
    if (!bus_service) return 1;
    live.subscribe(*bus_service);
    for (const auto& name : fdstore::close_unclaimed())
        spdlog::warn("closed a descriptor handed back under an unknown name: {}", name);
    server.set_handover(
        [&] { hand_over(server, live, udev.get(), *bus_service, mountpoint, restart); },
        kHandoverPatience);
    const int rc = server.run(
        mountpoint,
        [&] {
            announce_ready(o, ready_fd, log);
            if (auto connection = server.connection())
                fdstore::keep_fuse_connection(mountpoint, *connection);
            if (udev && udev->netns())
                fdstore::keep(fdstore::kUdevNetnsName, udev->netns()->fd(),
                              udev->netns_handed_back());
            fdstore::keep(fdstore::kBusName, bus_service->socket_fd(),
                          bus_service->socket_handed_back());
        },
        std::move(resume));
    // After an orderly end (the mount is gone). A connection this daemon could not take over
    // stays in the store, for a daemon that can (docs/restarts.md).
    if (rc == 0) {
        fdstore::release_fuse_connection();
        fdstore::remove(fdstore::kUdevNetnsName);
        fdstore::remove(fdstore::kBusName);
    }
    live.stop_waiting();  // a D-Bus method or a rule still waiting for an offline ends now
    bus_service->stop();
    if (udev) udev->stop();
    if (o.pid_file) unlink(o.pid_file->c_str());
    return rc;
}

// Rules directories are checked before the daemon detaches, so a typo fails the command.
bool check_rules_dirs(const DaemonOptions& o) {
    for (const auto& dir : o.rules_dirs) {
        struct stat st{};
        const char* why = stat(dir.c_str(), &st) != 0 ? std::strerror(errno)
                          : !S_ISDIR(st.st_mode)      ? "not a directory"
                                                      : nullptr;
        if (why) {
            std::fprintf(stderr, "hotplugfsd: --rules-dir %s: %s\n", printable(dir).c_str(), why);
            return false;
        }
    }
    return true;
}

// The files the daemon writes are opened or checked before anything else is created or
// mounted, so that a planted link or FIFO fails the command (sandbox/safe_open.h).
bool open_event_log(const DaemonOptions& o, std::unique_ptr<EventLog>& event_log) {
    if (!o.event_log) return true;
    try {
        event_log = std::make_unique<EventLog>(*o.event_log);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotplugfsd: --event-log %s\n", printable(e.what()).c_str());
        return false;
    }
    return true;
}

bool check_pid_file(const DaemonOptions& o) {
    if (!o.pid_file) return true;
    const std::string why = sandbox::check_replaceable(*o.pid_file);
    if (why.empty()) return true;
    std::fprintf(stderr, "hotplugfsd: --pid-file %s: %s\n", printable(*o.pid_file).c_str(),
                 why.c_str());
    return false;
}

}  // namespace
}  // namespace hotplugfs

int main(int argc, char** argv) {
    using namespace hotplugfs;
    // Before anything opens a descriptor: those a planned restart handed over move to 3, 4, ...
    bool detached = false;
    const bool handed_over = fdstore::accept_handover(detached);
    const Restart restart{fdstore::started_executable(), argv, handed_over, detached};
    const ParsedOptions parsed = parse_options(argc, argv);
    if (!parsed.options) return parsed.exit_code;
    const DaemonOptions& o = *parsed.options;
    DaemonLog log;
    if (!log.start(o)) return 2;
    std::unique_ptr<EventLog> event_log;
    if (!check_pid_file(o) || !open_event_log(o, event_log)) return 2;
    Platform platform;
    hotplug::MachineSpec spec;
    auto machine = load_machine(o, platform, spec);
    if (!machine) return 2;
    char resolved[PATH_MAX];
    if (!realpath(o.mountpoint.c_str(), resolved)) {
        // A stale FUSE mount cannot be resolved (ENOTCONN); fall back to the path as given.
        if (errno != ENOTCONN) {
            std::perror(("hotplugfsd: " + o.mountpoint).c_str());
            return 1;
        }
        std::snprintf(resolved, sizeof resolved, "%s", o.mountpoint.c_str());
    }
    const std::string mountpoint = resolved;
    // A connection handed back by a keeper is served where it is mounted; else mount afresh.
    std::optional<FuseResume> resume = fdstore::take_fuse_connection(mountpoint);
    if (sandbox::UniqueFd handles = fdstore::take_passed_one(fdstore::kHandlesName); resume && handles)
        resume->handles = fdstore::read_bytes(handles.get());
    if (const std::string why = resume ? "" : prepare_mountpoint(mountpoint); !why.empty()) {
        std::fprintf(stderr, "hotplugfsd: %s\n", printable(why).c_str());
        return 1;
    }
    if (!check_rules_dirs(o)) return 2;
    return serve(o, std::move(*machine), spec, platform, mountpoint, log, std::move(event_log),
                 std::move(resume), restart);
}
