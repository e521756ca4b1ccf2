#include "bench_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bench {
namespace {

volatile sig_atomic_t g_interrupted = 0;

void on_signal(int) {
    g_interrupted = 1;
}

int pidfd_open(pid_t pid) {
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

int pidfd_send_signal(int pidfd, int sig) {
    return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Waits until the process behind pidfd has exited. Returns false on timeout. EINTR (a signal)
// does not end the wait unless honour_interrupt is set, in which case it throws.
bool wait_pidfd(int pidfd, double timeout_s, bool honour_interrupt) {
    const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
    for (;;) {
        const uint64_t now = now_ns();
        if (now >= deadline) return false;
        pollfd p{pidfd, POLLIN, 0};
        const int ms = static_cast<int>(std::min<uint64_t>((deadline - now) / 1000000 + 1, 1000));
        const int r = poll(&p, 1, ms);
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) fail_errno("poll(pidfd)", errno);
        if (honour_interrupt) check_interrupted();
    }
}

std::string unescape_mountinfo(const std::string& field) {
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() &&
            std::isdigit(static_cast<unsigned char>(field[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(field[i + 2])) &&
            std::isdigit(static_cast<unsigned char>(field[i + 3]))) {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                     (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

std::vector<std::string> mount_points() {
    std::vector<std::string> result;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string f;
        for (int i = 0; i < 5 && fields >> f; ++i) {
        }
        result.push_back(unescape_mountinfo(f));
    }
    return result;
}

void make_dir(const std::string& path) {
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) fail_errno("mkdir " + path, errno);
}

}  // namespace

// ---- errors and interruption ----------------------------------------------------------------

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: waits return EINTR and notice the flag
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

bool interrupted() {
    return g_interrupted != 0;
}

void check_interrupted() {
    if (g_interrupted) throw Error("interrupted by a signal");
}

void fail_errno(const std::string& what, int err) {
    throw Error(what + ": " + std::strerror(err));
}

// ---- statistics -----------------------------------------------------------------------------

Summary summarize(std::vector<double> samples) {
    Summary s;
    s.n = samples.size();
    if (samples.empty()) return s;
    std::sort(samples.begin(), samples.end());
    auto rank = [&](double p) {
        size_t idx = static_cast<size_t>(std::ceil(p * static_cast<double>(s.n)));
        idx = std::clamp<size_t>(idx, 1, s.n);
        return samples[idx - 1];
    };
    s.min = samples.front();
    s.max = samples.back();
    s.p50 = rank(0.50);
    s.p90 = rank(0.90);
    s.p99 = rank(0.99);
    double sum = 0;
    for (double v : samples) sum += v;
    s.mean = sum / static_cast<double>(s.n);
    return s;
}

// ---- file operations ------------------------------------------------------------------------

long read_at(int dirfd, const char* rel, char* buf, size_t size) {
    const int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    const ssize_t n = read(fd, buf, size);
    const int err = errno;
    close(fd);
    return n < 0 ? -err : n;
}

long write_at(int dirfd, const char* rel, std::string_view data, int flags) {
    const int fd = openat(dirfd, rel, flags | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    const ssize_t n = write(fd, data.data(), data.size());
    const int err = errno;
    close(fd);
    return n < 0 ? -err : n;
}

std::string slurp_at(int dirfd, const std::string& rel) {
    char buf[4096];
    const long n = read_at(dirfd, rel.c_str(), buf, sizeof buf);
    if (n < 0) fail_errno("read " + rel, static_cast<int>(-n));
    return std::string(buf, static_cast<size_t>(n));
}

int open_dir(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail_errno("open " + path, errno);
    return fd;
}

DIR* open_dir_stream(int memdirfd) {
    const int fd = openat(memdirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail_errno("open memory directory", errno);
    DIR* d = fdopendir(fd);
    if (!d) {
        close(fd);
        fail_errno("fdopendir", errno);
    }
    return d;
}

std::vector<uint64_t> list_blocks(int memdirfd) {
    DIR* d = open_dir_stream(memdirfd);
    std::vector<uint64_t> blocks;
    while (const dirent* e = readdir(d)) {
        const std::string_view name = e->d_name;
        if (!name.starts_with("memory") || name.size() == 6) continue;
        const auto digits = name.substr(6);
        if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
            continue;
        blocks.push_back(std::strtoull(std::string(digits).c_str(), nullptr, 10));
    }
    closedir(d);
    std::sort(blocks.begin(), blocks.end());
    return blocks;
}

// ---- processes ------------------------------------------------------------------------------

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
    return "wait status " + std::to_string(status);
}

CommandResult run_command(const std::vector<std::string>& argv, double timeout_s) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) fail_errno("pipe", errno);
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        fail_errno("pipe", errno);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    CommandResult r;
    const uint64_t t0 = now_ns();
    const pid_t pid = fork();
    if (pid < 0) fail_errno("fork", errno);
    if (pid == 0) {
        const int null = open("/dev/null", O_RDONLY);
        dup2(null, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        setenv("LC_ALL", "C", 1);
        execvp(args[0], args.data());
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    const uint64_t deadline = t0 + static_cast<uint64_t>(timeout_s * 1e9);
    bool out_open = true, err_open = true, timed_out = false;
    char buf[65536];
    while ((out_open || err_open) && !timed_out) {
        pollfd p[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
        const int rc = poll(p, 2, 200);
        if (rc < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                (i == 0 ? out_open : err_open) = false;
            }
        }
        if (now_ns() > deadline || interrupted()) timed_out = true;
    }
    close(out[0]);
    close(err[0]);
    if (timed_out) kill(pid, SIGKILL);  // our own child, by its PID
    while (waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
    }
    r.seconds = static_cast<double>(now_ns() - t0) / 1e9;
    check_interrupted();
    if (timed_out)
        throw Error(argv[0] + " did not finish within " + std::to_string(timeout_s) + " s");
    return r;
}

long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

// ---- mounts ---------------------------------------------------------------------------------

bool is_mounted(const std::string& path) {
    const auto mounts = mount_points();
    return std::find(mounts.begin(), mounts.end(), path) != mounts.end();
}

bool has_mounts_below(const std::string& dir) {
    for (const auto& m : mount_points())
        if (m == dir || m.starts_with(dir + "/")) return true;
    return false;
}

void lazy_fuse_unmount(const std::string& path) {
    try {
        run_command({"fusermount3", "-u", "-z", path}, 30);
    } catch (const std::exception&) {
    }
}

// ---- daemons --------------------------------------------------------------------------------

Daemon::Daemon(std::string exe, std::string dir, std::string name)
    : exe_(std::move(exe)),
      root_(dir + "/" + name),
      sys_(root_ + "/sys"),
      pid_file_(dir + "/" + name + ".pid"),
      log_file_(dir + "/" + name + ".log") {}

Daemon::~Daemon() {
    try {
        stop();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotplugfs-bench: stopping the daemon on %s: %s\n", sys_.c_str(),
                     e.what());
    }
}

std::string Daemon::log_tail() const {
    std::ifstream in(log_file_);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

double Daemon::start(const std::optional<std::string>& config,
                     const std::vector<std::string>& extra) {
    if (running()) throw Error("daemon on " + sys_ + " is already running");
    make_dir(root_);
    make_dir(sys_);
    std::vector<std::string> argv{exe_};
    if (config) argv.insert(argv.end(), {"--config", *config});
    argv.insert(argv.end(), {"--pid-file", pid_file_, "--log-file", log_file_});
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(sys_);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    unlink(pid_file_.c_str());
    const int log = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) fail_errno("open " + log_file_, errno);

    const uint64_t t0 = now_ns();
    const pid_t launcher = fork();
    if (launcher < 0) {
        close(log);
        fail_errno("fork", errno);
    }
    if (launcher == 0) {
        const int null = open("/dev/null", O_RDONLY);
        dup2(null, STDIN_FILENO);
        dup2(log, STDOUT_FILENO);  // a file, never a pipe: the detached daemon inherits it
        dup2(log, STDERR_FILENO);
        signal(SIGPIPE, SIG_DFL);
        execv(args[0], args.data());
        _exit(127);
    }
    close(log);
    // The start command exits once the daemon's mount answers (or when it fails).
    const int lfd = pidfd_open(launcher);
    int status = 0;
    bool done = true;
    try {
        if (lfd >= 0) done = wait_pidfd(lfd, 300, true);
    } catch (...) {
        done = false;
    }
    if (!done) kill(launcher, SIGKILL);  // our own child
    while (waitpid(launcher, &status, 0) < 0 && errno == EINTR) {
    }
    const uint64_t t1 = now_ns();
    if (lfd >= 0) close(lfd);

    // The daemon writes its PID file before it reports readiness.
    std::ifstream pf(pid_file_);
    long pid = -1;
    if (pf >> pid && pid > 1) {
        pid_ = static_cast<pid_t>(pid);
        pidfd_ = pidfd_open(pid_);
    }
    mounted_ = true;
    check_interrupted();
    if (!done || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || pidfd_ < 0) {
        const std::string why =
            !done ? "did not become ready within 300 s" : describe_status(status);
        const std::string tail = log_tail();
        stop();
        throw Error("starting hotplugfsd on " + sys_ + ": " + why + "\n--- daemon log ---\n" +
                    tail);
    }
    return static_cast<double>(t1 - t0) / 1e9;
}

// SIGTERM, then SIGKILL after `timeout_s`, to the process behind `pidfd` (`what` names it in
// the message). Returns whether it is gone.
static bool stop_process(int pidfd, double timeout_s, const std::string& what) {
    if (pidfd_send_signal(pidfd, SIGTERM) != 0) return errno == ESRCH;
    if (wait_pidfd(pidfd, timeout_s, false)) return true;
    std::fprintf(stderr, "hotplugfs-bench: %s still running %.0f s after SIGTERM; sending SIGKILL\n",
                 what.c_str(), timeout_s);
    pidfd_send_signal(pidfd, SIGKILL);
    return wait_pidfd(pidfd, 10, false);
}

void Daemon::stop(double timeout_s) {
    if (pidfd_ >= 0) {
        stop_process(pidfd_, timeout_s, "daemon " + std::to_string(pid_));
        close(pidfd_);
        pidfd_ = -1;
        // The benchmark is a child subreaper, so the detached daemon is its child: reap it.
        int st;
        while (waitpid(pid_, &st, WNOHANG) < 0 && errno == EINTR) {
        }
    }
    if (mounted_) {
        for (int i = 0; i < 3 && is_mounted(sys_); ++i) lazy_fuse_unmount(sys_);
        if (is_mounted(sys_))
            std::fprintf(stderr, "hotplugfs-bench: %s is still mounted\n", sys_.c_str());
        mounted_ = false;
    }
}

// ---- foreground servers ---------------------------------------------------------------------

ForegroundServer::ForegroundServer(std::string mountpoint, std::string log_file)
    : mountpoint_(std::move(mountpoint)), log_file_(std::move(log_file)) {}

ForegroundServer::~ForegroundServer() {
    try {
        stop();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotplugfs-bench: stopping the server on %s: %s\n",
                     mountpoint_.c_str(), e.what());
    }
}

std::string ForegroundServer::log_tail() const {
    std::ifstream in(log_file_);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

void ForegroundServer::start(const std::vector<std::string>& argv, const std::string& ready_path,
                             double timeout_s) {
    if (running()) throw Error("a server on " + mountpoint_ + " is already running");
    if (argv.empty()) throw Error("ForegroundServer::start: no command");
    make_dir(mountpoint_);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int log = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) fail_errno("open " + log_file_, errno);
    const pid_t pid = fork();
    if (pid < 0) {
        close(log);
        fail_errno("fork", errno);
    }
    if (pid == 0) {
        setpgid(0, 0);  // not in the terminal's process group: only we stop it
        const int null = open("/dev/null", O_RDONLY);
        dup2(null, STDIN_FILENO);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        signal(SIGPIPE, SIG_DFL);
        execv(args[0], args.data());
        _exit(127);
    }
    close(log);
    pid_ = pid;
    pidfd_ = pidfd_open(pid);
    started_ = true;
    if (pidfd_ < 0) {
        const int err = errno;
        kill(pid, SIGKILL);  // our own child, by its PID
        while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        stop();
        fail_errno("pidfd_open", err);
    }
    const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
    std::string why;
    for (;;) {
        if (interrupted()) {
            stop();
            check_interrupted();
        }
        pollfd p{pidfd_, POLLIN, 0};
        if (poll(&p, 1, 0) > 0) {
            int status = 0;
            while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
            why = argv[0] + " exited (" + describe_status(status) + ")";
            close(pidfd_);
            pidfd_ = -1;
            break;
        }
        struct stat st {};
        if (is_mounted(mountpoint_) && stat(ready_path.c_str(), &st) == 0) return;
        if (now_ns() > deadline) {
            why = ready_path + " did not answer within " + std::to_string(timeout_s) + " s";
            break;
        }
        usleep(10000);
    }
    const std::string tail = log_tail();
    stop();
    throw Error("starting " + argv[0] + " on " + mountpoint_ + ": " + why + "\n--- its log ---\n" +
                tail);
}

void ForegroundServer::stop(double timeout_s) {
    if (pidfd_ >= 0) {
        const bool gone =
            stop_process(pidfd_, timeout_s, "server " + std::to_string(pid_) + " on " + mountpoint_);
        close(pidfd_);
        pidfd_ = -1;
        int st;  // reap our child; never block on one that is somehow still there
        while (waitpid(pid_, &st, gone ? 0 : WNOHANG) < 0 && errno == EINTR) {
        }
    }
    if (started_) {
        for (int i = 0; i < 3 && is_mounted(mountpoint_); ++i) lazy_fuse_unmount(mountpoint_);
        if (is_mounted(mountpoint_))
            std::fprintf(stderr, "hotplugfs-bench: %s is still mounted\n", mountpoint_.c_str());
        started_ = false;
    }
}

// ---- temporary directory and tmpfs ----------------------------------------------------------

TempDir::TempDir() {
    char tmpl[] = "/tmp/hotplugfs-bench-XXXXXX";
    if (!mkdtemp(tmpl)) fail_errno("mkdtemp", errno);
    char resolved[PATH_MAX];
    path_ = realpath(tmpl, resolved) ? resolved : tmpl;
}

TempDir::~TempDir() {
    try {
        unmount_tmpfs();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotplugfs-bench: %s\n", e.what());
    }
    if (has_mounts_below(path_)) {
        std::fprintf(stderr, "hotplugfs-bench: something is still mounted below %s; leaving it\n",
                     path_.c_str());
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec)
        std::fprintf(stderr, "hotplugfs-bench: removing %s: %s\n", path_.c_str(),
                     ec.message().c_str());
}

std::string TempDir::mount_tmpfs() {
    const std::string p = path_ + "/tmpfs";
    make_dir(p);
    if (mount("hotplugfs-bench", p.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=0755") !=
        0)
        fail_errno("mount -t tmpfs on " + p, errno);
    tmpfs_ = p;
    return p;
}

void TempDir::unmount_tmpfs() {
    if (tmpfs_.empty()) return;
    if (umount2(tmpfs_.c_str(), 0) != 0 && umount2(tmpfs_.c_str(), MNT_DETACH) != 0)
        fail_errno("umount " + tmpfs_, errno);
    tmpfs_.clear();
}

void write_text_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error("cannot write " + path);
}

}  // namespace bench
