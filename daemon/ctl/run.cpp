// `hotplugctl run`: a program with the emulated memory sysfs in place of the host's.
//
// Process layout, chosen so that nothing outlives hotplugctl, even when it is SIGKILLed:
//   hotplugctl ─┬─ hotplugfsd --foreground, in a mount namespace of its own (so its mount
//               │    is seen nowhere else and vanishes with it); parent-death signal SIGTERM
//               ├─ janitor: waits for hotplugctl to end (a pipe's EOF), then for the daemon,
//               │    and removes the run directory (only it is left when hotplugctl is killed)
//               │    (hotplugctl writes the PID of each daemon it starts again into the pipe)
//               └─ joiner: enters the daemon's mount namespace, then a private copy with the
//                  tree bound over /sys (and the daemon's network namespace with --netns);
//                  parent-death signal SIGKILL
//                   └─ init of a new PID namespace (parent-death SIGKILL): forwards signals
//                       └─ CMD
// When the init exits or is killed, the kernel kills everything left in its PID namespace.
//
// hotplugctl is the daemon's file-descriptor store (docs/restarts.md): the daemon stores its
// FUSE connection over $NOTIFY_SOCKET, and when it dies while COMMAND runs, hotplugctl starts it
// again in the same mount namespace with that connection (and, with --netns, the network
// namespace COMMAND listens in), so COMMAND only sees a pause.
#include "ctl/run.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ctl/fd_keeper.h"
#include "sandbox/emulated_sysfs.h"
#include "support/printable.h"

namespace hotplugfs::ctl {
namespace {

constexpr const char* kUsage =
    "Usage: hotplugctl run [--config FILE] [--rules-dir DIR]... [--netns] [--root DIR]\n"
    "                      [--daemon PATH] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND in a private mount namespace where the emulated memory sysfs replaces\n"
    "/sys/devices/system/{memory,node,cpu}, /sys/devices/virtual/memory_tiering,\n"
    "/sys/bus/{memory,cpu,memory_tiering}, /sys/kernel/mm/numa and\n"
    "/sys/module/memory_hotplug, and a PID namespace of its own. CPU affinity and cpusets\n"
    "stay the host's (hwloc: lstopo --disallowed). The\n"
    "exit code is COMMAND's (128+N when a signal N ended it). When COMMAND ends, or\n"
    "hotplugctl is killed, every process and mount it started is gone. When the daemon\n"
    "dies while COMMAND runs, it is started again on the same mount, machine and network\n"
    "namespace: COMMAND only sees a pause. $HOTPLUGFS_DAEMON_PIDFILE tells COMMAND the\n"
    "daemon's PID file.\n"
    "\n"
    "  --config FILE    the machine (default: the built-in one)\n"
    "  --rules-dir DIR  udev rules the daemon applies (repeatable)\n"
    "  --netns          also a private network namespace where the daemon broadcasts its\n"
    "                   events, so 'udevadm monitor' inside sees them\n"
    "  --root DIR       use the daemon already serving DIR/sys instead of starting one\n"
    "  --daemon PATH    the hotplugfsd to start (default: next to hotplugctl, else PATH)\n"
    "Needs root (namespaces and FUSE).\n";

struct RunOptions {
    std::optional<std::string> config, root, daemon;
    std::vector<std::string> rules_dirs;
    bool netns = false;
    std::vector<std::string> command;
};

std::optional<RunOptions> parse(int argc, char** argv, int& rc) {
    RunOptions o;
    rc = 2;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= argc) return std::nullopt;
            return std::string(argv[++i]);
        };
        std::optional<std::string> v;
        if (a == "--") {
            ++i;
            break;
        }
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            rc = 0;
            return std::nullopt;
        }
        if (a == "--netns") {
            o.netns = true;
            continue;
        }
        if (a != "--config" && a != "--rules-dir" && a != "--root" && a != "--daemon") break;
        if (!(v = value())) {
            std::fprintf(stderr, "hotplugctl run: %s needs a value\n", printable(a).c_str());
            return std::nullopt;
        }
        if (a == "--config")
            o.config = v;
        else if (a == "--root")
            o.root = v;
        else if (a == "--daemon")
            o.daemon = v;
        else
            o.rules_dirs.push_back(*v);
    }
    for (; i < argc; ++i) o.command.emplace_back(argv[i]);
    // A daemon started again joins its predecessor's mount namespace, which moves it to the
    // namespace's root directory: relative paths would not name the same files there.
    auto absolute = [](std::optional<std::string>& path) {
        if (path && path->find('/') != std::string::npos)
            path = std::filesystem::absolute(*path).string();
    };
    absolute(o.config);
    absolute(o.daemon);
    for (auto& d : o.rules_dirs) d = std::filesystem::absolute(d).string();
    if (o.command.empty()) {
        std::fputs("hotplugctl run: no COMMAND given\nTry 'hotplugctl run --help'.\n", stderr);
        return std::nullopt;
    }
    return o;
}

std::string default_daemon() {
    char self[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        const auto beside = std::filesystem::path(self).parent_path() / "hotplugfsd";
        if (access(beside.c_str(), X_OK) == 0) return beside;
    }
    for (const char* dir : {"/usr/sbin", "/usr/local/sbin", "/sbin"}) {
        const std::string p = std::string(dir) + "/hotplugfsd";
        if (access(p.c_str(), X_OK) == 0) return p;
    }
    return "hotplugfsd";
}

// Where SIGTERM and SIGHUP are passed on to: hotplugctl -> joiner -> init -> command.
volatile pid_t g_forward_to = -1;
void forward(int sig) {
    if (g_forward_to > 0) kill(g_forward_to, sig);
}

[[noreturn]] void child_fail(const char* what) {
    const int e = errno;
    dprintf(STDERR_FILENO, "hotplugctl run: %s: %s\n", what, strerror(e));
    _exit(127);
}

int status_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

// The daemon's environment: hotplugctl's, with $NOTIFY_SOCKET naming the keeper.
std::vector<std::string> daemon_environment(const std::string& notify_socket) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
        if (!std::string_view(*e).starts_with("NOTIFY_SOCKET=")) env.emplace_back(*e);
    env.push_back("NOTIFY_SOCKET=" + notify_socket);
    return env;
}

// Starts the daemon in a mount namespace of its own, or, given `mntns`, in that one (where its
// predecessor's mount still is), with the descriptors `handoff` passes. `netns_kept`: the
// store holds the predecessor's network namespace, which the new daemon takes over where it is
// bound.
pid_t start_daemon(const RunOptions& o, const std::string& root, ListenHandoff& handoff,
                   int mntns = -1, bool netns_kept = false) {
    std::vector<std::string> args{o.daemon.value_or(default_daemon()),
                                  "--foreground",
                                  "--pid-file",
                                  root + "/pid",
                                  "--log-file",
                                  root + "/daemon.log",
                                  "--state",
                                  root + "/state"};
    if (o.config) args.insert(args.end(), {"--config", *o.config});
    for (const auto& d : o.rules_dirs) args.insert(args.end(), {"--rules-dir", d});
    if (o.netns) args.insert(args.end(), {"--udev-netns", root + "/netns"});
    args.push_back(root + "/sys");
    const std::string netns = root + "/netns";
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(1);
    if (mntns >= 0) {
        if (setns(mntns, CLONE_NEWNS) != 0) child_fail("setns(CLONE_NEWNS)");
        // The dead daemon's network namespace is bound there still. Handed back, the new daemon
        // broadcasts in it, where the command listens; else it can only make one of its own.
        if (o.netns && !netns_kept) umount2(netns.c_str(), MNT_DETACH);
    } else {
        if (unshare(CLONE_NEWNS) != 0) child_fail("unshare(CLONE_NEWNS)");
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail("mount");
    }
    const int null = open("/dev/null", O_RDWR);
    if (null >= 0) dup2(null, STDIN_FILENO), dup2(null, STDOUT_FILENO);
    if (!handoff.in_child()) child_fail("passing the stored descriptors");
    execvpe(argv[0], argv.data(), handoff.envp());
    child_fail(argv[0]);
}

// The write end of the janitor's pipe: held by hotplugctl alone, closed in every other child.
int g_janitor_pipe = -1;

// A process that outlives a SIGKILLed hotplugctl just long enough to remove the run directory
// once the daemon (which gets SIGTERM when hotplugctl dies) has exited.
void start_janitor(pid_t daemon, const std::string& root) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    const pid_t pid = fork();
    if (pid != 0) {
        close(fds[0]);
        if (pid > 0)
            g_janitor_pipe = fds[1];
        else
            close(fds[1]);
        return;
    }
    close(fds[1]);
    // Not its to handle: a terminal's signals go to the whole process group.
    for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP}) signal(sig, SIG_IGN);
    const int null = open("/dev/null", O_RDWR);
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) dup2(null, fd);
    int daemon_fd = static_cast<int>(syscall(SYS_pidfd_open, daemon, 0));
    // Until EOF: the PIDs of the daemons started in place of a dead one.
    pid_t next;
    for (ssize_t n; (n = read(fds[0], &next, sizeof next)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n != static_cast<ssize_t>(sizeof next)) break;
        if (daemon_fd >= 0) close(daemon_fd);
        daemon = next;
        daemon_fd = static_cast<int>(syscall(SYS_pidfd_open, daemon, 0));
    }
    if (daemon_fd >= 0) {
        pollfd p{daemon_fd, POLLIN, 0};
        if (poll(&p, 1, 10000) == 0) {
            kill(daemon, SIGKILL);
            poll(&p, 1, 5000);
        }
    }
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
    _exit(0);
}

// Waits until the daemon wrote its PID file (it does once the mount answers).
bool wait_ready(pid_t daemon, const std::string& root) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(daemon, &status, WNOHANG) == daemon) return false;
        if (access((root + "/pid").c_str(), F_OK) == 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

// The init of the command's PID namespace: runs COMMAND, passes signals on, returns its status.
[[noreturn]] void run_init(const std::vector<std::string>& command) {
    // A fresh /proc, so the command sees its own PID namespace (failure is not fatal).
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    std::vector<char*> argv;
    for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    const pid_t child = fork();
    if (child == 0) {
        for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, nullptr);
        execvp(argv[0], argv.data());
        child_fail(argv[0]);
    }
    if (child < 0) child_fail("fork");
    for (;;) {
        int sig = 0;
        if (sigwait(&all, &sig) != 0) continue;
        // A terminal's SIGINT and SIGQUIT reach the command through its process group already.
        if (sig == SIGINT || sig == SIGQUIT) continue;
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        int status = 0;
        pid_t done;
        while ((done = waitpid(-1, &status, WNOHANG)) > 0)
            if (done == child) _exit(status_code(status));
    }
}

// The joiner: the daemon's namespaces (when we started it), then the emulated /sys.
pid_t start_command(const RunOptions& o, const std::string& tree_root, pid_t daemon,
                    const std::string& netns, const std::string& pid_file) {
    const sandbox::EmulatedSysfs sysfs(tree_root);
    const std::string mntns = daemon > 0 ? "/proc/" + std::to_string(daemon) + "/ns/mnt" : "";
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(1);
    if (g_janitor_pipe >= 0) close(g_janitor_pipe);
    if (daemon > 0) setenv("HOTPLUGFS_DAEMON_PIDFILE", pid_file.c_str(), 1);
    if (!mntns.empty()) {
        const int fd = open(mntns.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNS) != 0) child_fail("joining the daemon's mounts");
        close(fd);
    }
    if (!netns.empty()) {
        const int fd = open(netns.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) child_fail("joining the network namespace");
        close(fd);
    }
    const auto entered = sysfs.enter();
    if (entered.error) {
        errno = entered.error;
        child_fail("binding the emulated sysfs over /sys");
    }
    if (unshare(CLONE_NEWPID) != 0) child_fail("unshare(CLONE_NEWPID)");
    const pid_t init = fork();
    if (init == 0) {
        // Its parent lives outside the new PID namespace, so getppid() reads 0 here: the
        // parent-death signal alone guards against the parent being gone already.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(1);
        run_init(o.command);
    }
    if (init < 0) child_fail("fork");
    g_forward_to = init;  // SIGTERM and SIGHUP from hotplugctl go on to the init
    int status = 0;
    while (waitpid(init, &status, 0) < 0 && errno == EINTR) {
    }
    _exit(status_code(status));
}

void stop_daemon(pid_t daemon) {
    if (daemon <= 0) return;
    kill(daemon, SIGTERM);
    for (int i = 0; i < 1000; ++i) {
        int status = 0;
        if (waitpid(daemon, &status, WNOHANG) == daemon) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(daemon, SIGKILL);
    waitpid(daemon, nullptr, 0);
}

int wait_command(pid_t joiner) {
    int status = 0;
    while (waitpid(joiner, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

sandbox::UniqueFd open_pidfd(pid_t pid) {
    return sandbox::UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
}

void note(const std::string& line) {
    std::fprintf(stderr, "hotplugctl run: %s\n", line.c_str());
}

// A daemon that keeps dying is given up after this many starts in kRestartWindow (systemd's
// default StartLimitBurst= and StartLimitIntervalSec=): its callers then fail instead of waiting.
constexpr size_t kRestartBurst = 5;
constexpr auto kRestartWindow = std::chrono::seconds(10);
// What the daemon stores its --udev-netns namespace under (fdstore/fd_store.h).
constexpr std::string_view kUdevNetnsName = "udev-netns";

// Until the command ends (its status is returned): keeps what the daemon stores, and starts it
// again when it dies without having released its connection (it crashed or was killed).
int keep_daemon(const RunOptions& o, const std::string& root, pid_t joiner, pid_t& daemon,
                FdKeeper& keeper, int mntns) {
    const std::vector<std::string> env = daemon_environment(keeper.path());
    const sandbox::UniqueFd joiner_fd = open_pidfd(joiner);
    sandbox::UniqueFd daemon_fd = open_pidfd(daemon);
    std::deque<std::chrono::steady_clock::time_point> starts;
    for (;;) {
        // The pidfds wake the wait when a process ends; the timeout, if they could not be opened.
        pollfd p[] = {{joiner_fd.get(), POLLIN, 0},
                      {daemon_fd.get(), POLLIN, 0},
                      {keeper.socket(), POLLIN, 0}};
        poll(p, std::size(p), 500);
        for (const auto& line : keeper.receive(daemon)) note(line);
        for (const auto& name : keeper.store().drop_hung())
            note("dropped the stored descriptor " + name + ": its peer is gone");
        int status = 0;
        if (daemon > 0 && waitpid(daemon, &status, WNOHANG) == daemon) {
            for (const auto& line : keeper.receive(daemon)) note(line);  // sent before it died
            daemon_fd.reset();
            const pid_t dead = daemon;
            daemon = -1;
            const auto now = std::chrono::steady_clock::now();
            while (!starts.empty() && now - starts.front() > kRestartWindow) starts.pop_front();
            siginfo_t info{};  // whether the command ended, leaving it to be reaped below
            waitid(P_PID, static_cast<id_t>(joiner), &info, WEXITED | WNOHANG | WNOWAIT);
            if (info.si_pid != 0 || keeper.store().empty()) {
                // The command is ending, or the daemon stopped in order: nothing to take over.
            } else if (starts.size() >= kRestartBurst) {
                note("the daemon keeps dying; not starting it again (its log: " + root +
                     "/daemon.log)");
                keeper.store().clear();  // callers of the mount fail now instead of waiting
            } else {
                note("the daemon (PID " + std::to_string(dead) + ") ended with status " +
                     std::to_string(status_code(status)) + "; starting it again");
                ListenHandoff handoff(keeper.store(), env);
                daemon = start_daemon(o, root, handoff, mntns,
                                      keeper.store().contains(kUdevNetnsName));
                starts.push_back(now);
                if (daemon > 0) {
                    daemon_fd = open_pidfd(daemon);
                    if (g_janitor_pipe >= 0 && write(g_janitor_pipe, &daemon, sizeof daemon) < 0)
                        note("cannot tell the janitor the daemon's PID");
                }
            }
        }
        if (waitpid(joiner, &status, WNOHANG) == joiner) return status;
    }
}

}  // namespace

int run_main(int argc, char** argv) {
    int rc = 0;
    const std::optional<RunOptions> o = parse(argc, argv, rc);
    if (!o) return rc;
    if (geteuid() != 0) {
        std::fputs("hotplugctl run: needs root (mount namespaces and FUSE)\n", stderr);
        return 1;
    }
    std::string root, tree_root;
    pid_t daemon = -1;
    std::unique_ptr<FdKeeper> keeper;  // when hotplugctl starts the daemon
    sandbox::UniqueFd mntns;           // the daemon's mount namespace
    if (o->root) {
        tree_root = *o->root + "/sys";
    } else {
        char tmpl[] = "/tmp/hotplugctl-run-XXXXXX";
        if (!mkdtemp(tmpl)) return std::perror("hotplugctl run: mkdtemp"), 1;
        root = tmpl;
        tree_root = root + "/sys";
        mkdir(tree_root.c_str(), 0755);
        try {
            keeper = std::make_unique<FdKeeper>(root + "/notify");
        } catch (const std::exception& e) {
            std::fprintf(stderr, "hotplugctl run: %s\n", e.what());
            std::filesystem::remove_all(root);
            return 1;
        }
        ListenHandoff nothing_stored(keeper->store(), daemon_environment(keeper->path()));
        daemon = start_daemon(*o, root, nothing_stored);
        if (daemon < 0 || !wait_ready(daemon, root)) {
            std::fprintf(stderr, "hotplugctl run: the daemon did not start; its log:\n");
            std::ifstream log(root + "/daemon.log");
            std::fputs(std::string(std::istreambuf_iterator<char>(log), {}).c_str(), stderr);
            stop_daemon(daemon);
            std::filesystem::remove_all(root);
            return 1;
        }
        start_janitor(daemon, root);
        // Held so that the namespace, and the mount in it, outlive a daemon that dies.
        mntns.reset(open(("/proc/" + std::to_string(daemon) + "/ns/mnt").c_str(),
                         O_RDONLY | O_CLOEXEC));
    }
    const std::string netns = o->netns && !root.empty() ? root + "/netns" : "";
    // A terminal's SIGINT and SIGQUIT go to the whole process group, the command included:
    // they are its to handle. SIGTERM and SIGHUP are passed down.
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGTERM, forward);
    signal(SIGHUP, forward);
    const pid_t joiner = start_command(*o, tree_root, daemon, netns, root + "/pid");
    g_forward_to = joiner;
    const int status = keeper && mntns ? keep_daemon(*o, root, joiner, daemon, *keeper, mntns.get())
                                       : wait_command(joiner);
    // Nobody needs the connection now. Closed first: while the store holds a copy, the kernel
    // would wait for answers to the daemon's own last reads of its mount instead of failing them,
    // and the daemon could not end.
    if (keeper) keeper->store().clear();
    stop_daemon(daemon);
    keeper.reset();
    if (!root.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(root, ec);
    }
    return status_code(status);
}

}  // namespace hotplugfs::ctl
