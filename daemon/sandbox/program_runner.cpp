#include "sandbox/program_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "sandbox/emulated_sysfs.h"
#include "sandbox/unique_fd.h"

namespace hotplugfs::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// After the program exits, how long to wait for the pipes to reach end-of-file. Everything in
// its process group is killed by then, so only a process that left the group can hold them.
constexpr std::chrono::milliseconds kDrainGrace{500};
// After SIGKILL, how long to wait for the exit before giving up polling and blocking in wait.
constexpr std::chrono::milliseconds kKillGrace{5000};

// What the child tells the parent over a close-on-exec pipe: kReady just before execve() (with
// the binds in place), or the step that failed. Records are smaller than PIPE_BUF, so atomic.
enum Stage : int { kReady = 0, kSetup = 1, kSysfs = 2, kExec = 3 };
struct Report {
    int stage = kReady;
    int error = 0;
    int failed_bind = -1;
    unsigned bound = 0;
};

// Everything the child uses, allocated before fork(): the child must not allocate.
struct ChildPlan {
    std::vector<std::string> candidates;  // paths to try with execve(), in order
    std::vector<char*> argv, envp;        // null-terminated, pointing into the request
    std::optional<EmulatedSysfs> sysfs;
    int devnull = -1, out = -1, err = -1, report = -1;
    int fd_limit = 1024;  // for the close-on-exec fallback when close_range() is missing
};

// Descriptors 0-2 must stay free for dup2() in the child: a daemon started with a closed
// stdin would otherwise hand out fd 0 to a pipe, and dup2(fd, fd) keeps close-on-exec set.
int above_stdio(int fd) {
    if (fd < 0 || fd > 2) return fd;
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return moved;
}

int make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return errno;
    read_end.reset(above_stdio(fds[0]));
    write_end.reset(above_stdio(fds[1]));
    return read_end && write_end ? 0 : errno;
}

std::vector<std::string> exec_candidates(const RunRequest& request) {
    const std::string& name = request.argv.front();
    if (name.find('/') != std::string::npos) return {name};
    std::string path = kDefaultPath;
    for (const std::string& kv : request.env)
        if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find(':', start), path.size());
        if (end > start) out.push_back(path.substr(start, end - start) + "/" + name);
        start = end + 1;
    }
    return out;
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

void write_report(int fd, const Report& report) {
    while (::write(fd, &report, sizeof report) < 0 && errno == EINTR) {
    }
}

[[noreturn]] void child_fail(const ChildPlan& plan, Report report) {
    write_report(plan.report, report);
    ::_exit(127);
}

// The daemon may block signals in its threads and ignore SIGPIPE; a program must start with
// the defaults. Handlers are reset by execve() anyway, but ignored signals and the mask are not.
void reset_signals() {
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
}

void mark_all_cloexec(const ChildPlan& plan) {
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    for (int fd = 3; fd < plan.fd_limit; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// Runs in the child of fork(): async-signal-safe calls only, no allocation.
[[noreturn]] void child_main(const ChildPlan& plan) {
    // Its own process group, so that a timeout can kill everything the program started.
    ::setpgid(0, 0);
    reset_signals();
    Report report;
    if (plan.sysfs) {
        const EmulatedSysfs::Outcome o = plan.sysfs->enter();
        report.bound = o.bound;
        if (o.error != 0) child_fail(plan, {kSysfs, o.error, o.failed_bind, o.bound});
    }
    if (::dup2(plan.devnull, 0) < 0 || ::dup2(plan.out, 1) < 0 || ::dup2(plan.err, 2) < 0 ||
        ::chdir("/") != 0)
        child_fail(plan, {kSetup, errno, -1, report.bound});
    // Descriptors other threads opened without O_CLOEXEC (or are opening right now) must not
    // reach the program; the report pipe is close-on-exec already and stays usable until then.
    mark_all_cloexec(plan);
    write_report(plan.report, report);
    int error = ENOENT;
    bool denied = false;
    for (const std::string& path : plan.candidates) {
        ::execve(path.c_str(), plan.argv.data(), plan.envp.data());
        error = errno;
        // Like execvpe(): keep looking after "not here", remember "not allowed", stop otherwise.
        if (error == EACCES)
            denied = true;
        else if (error != ENOENT && error != ENOTDIR)
            break;
    }
    if (denied && (error == ENOENT || error == ENOTDIR)) error = EACCES;
    child_fail(plan, {kExec, error, -1, report.bound});
}

// The forked child: killed with its process group and reaped on every path out of run_program.
class ChildProcess {
  public:
    // glibc's pidfd_open() wrapper is not declared for C++ before 2.37: use the system call.
    explicit ChildProcess(pid_t pid)
        : pid_(pid), pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {
        // Also from this side: the deadline may pass before the child ran setpgid() itself.
        // EACCES (it already called execve) means it did.
        ::setpgid(pid_, pid_);
    }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess() {
        if (!reaped_) {
            kill_group();
            reap();
        }
    }

    int pidfd() const { return pidfd_.get(); }

    // While the child is unreaped its pid (and so its process group id) cannot be reused.
    void kill_group() const {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
    }

    bool exited() const {
        siginfo_t info{};
        return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
               info.si_pid == pid_;
    }

    int reap() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
        return status;
    }

  private:
    pid_t pid_;
    UniqueFd pidfd_;
    bool reaped_ = false;
};

struct Stream {
    UniqueFd fd;
    std::string* sink = nullptr;  // null: the report pipe
    bool* truncated = nullptr;
};

// Reads what is there; closes the stream at end-of-file or on an error.
void drain(Stream& s, std::string& report_bytes) {
    std::array<char, 16384> buf;
    const ssize_t n = ::read(s.fd.get(), buf.data(), buf.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        s.fd.reset();
        return;
    }
    const auto got = static_cast<std::size_t>(n);
    if (!s.sink) {
        report_bytes.append(buf.data(), got);
        return;
    }
    const std::size_t room = kRunOutputCap - std::min(kRunOutputCap, s.sink->size());
    s.sink->append(buf.data(), std::min(room, got));
    if (got > room) *s.truncated = true;
}

}  // namespace

namespace {

struct Deadline {
    bool set = false;
    Clock::time_point at{};
    int poll_ms() const {
        if (!set) return -1;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(at - Clock::now());
        return static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, left.count()));
    }
    bool passed() const { return set && Clock::now() >= at; }
};

// Reads stdout, stderr and the report pipe until the program has exited and the pipes are
// closed. Kills the process group at the deadline, and right after the program exits (so
// nothing it started in the background outlives it or keeps the pipes open).
void collect(ChildProcess& child, std::array<Stream, 3>& streams, std::string& report_bytes,
             std::chrono::milliseconds timeout, int cancel_fd, RunResult& result) {
    Deadline deadline{timeout.count() > 0, Clock::now() + timeout};
    bool exited = false;
    for (;;) {
        std::array<pollfd, 5> fds{};
        std::array<Stream*, 5> owners{};
        nfds_t n = 0;
        for (Stream& s : streams)
            if (s.fd) owners[n] = &s, fds[n++] = {s.fd.get(), POLLIN, 0};
        if (exited && n == 0) return;
        if (!exited && child.pidfd() >= 0) fds[n++] = {child.pidfd(), POLLIN, 0};
        const nfds_t cancel_at = n;
        const bool watch_cancel = cancel_fd >= 0 && !exited && !result.cancelled;
        if (watch_cancel) fds[n++] = {cancel_fd, POLLIN, 0};
        // Without a pidfd (old kernels) the exit is noticed by polling waitid() every 20 ms.
        int wait_ms = deadline.poll_ms();
        if (!exited && child.pidfd() < 0 && (wait_ms < 0 || wait_ms > 20)) wait_ms = 20;
        if (::poll(fds.data(), n, wait_ms) < 0 && errno != EINTR) {
            child.kill_group();
            return;
        }
        for (nfds_t i = 0; i < n; ++i)
            if (owners[i] && owners[i]->fd && fds[i].revents) drain(*owners[i], report_bytes);
        if (watch_cancel && fds[cancel_at].revents) {
            result.cancelled = true;
            child.kill_group();
            deadline = {true, Clock::now() + kKillGrace};
            continue;
        }
        if (!exited && child.exited()) {
            exited = true;
            child.kill_group();
            deadline = {true, Clock::now() + kDrainGrace};
        } else if (deadline.passed()) {
            // Drained long enough after the exit (a process outside the group holds the pipes),
            // or the kill is not taking effect: the wait in reap() finishes the job.
            if (exited || result.timed_out || result.cancelled) return;
            result.timed_out = true;
            child.kill_group();
            deadline = {true, Clock::now() + kKillGrace};
        }
    }
}

void fail_spawn(RunResult& result, int error, const std::string& what) {
    result.spawn_errno = error;
    result.spawn_error = what + ": " + std::strerror(error);
}

// Turns the child's reports and wait status into the result.
void finish(RunResult& result, const ChildPlan& plan, const std::string& report_bytes, int status) {
    Report last;
    for (std::size_t at = 0; at + sizeof(Report) <= report_bytes.size(); at += sizeof(Report))
        std::memcpy(&last, report_bytes.data() + at, sizeof(Report));
    if (plan.sysfs) result.sysfs_bound = plan.sysfs->bound_targets(last.bound);
    if (last.stage == kSysfs) {
        result.spawn_errno = last.error;
        result.spawn_error = plan.sysfs->describe({last.error, last.failed_bind, last.bound});
    } else if (last.stage == kSetup) {
        fail_spawn(result, last.error, "cannot prepare the child process");
    } else if (last.stage == kExec) {
        fail_spawn(result, last.error, "cannot execute " + std::string(plan.argv.front()));
    }
    if (result.spawn_errno == 0 && WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
}

}  // namespace

RunResult run_program(const RunRequest& request) {
    RunResult result;
    if (request.argv.empty() || request.argv.front().empty()) {
        fail_spawn(result, EINVAL, "no program to run");
        return result;
    }
    ChildPlan plan;
    plan.candidates = exec_candidates(request);
    plan.argv = c_strings(request.argv);
    plan.envp = c_strings(request.env);
    if (!request.tree_root.empty()) plan.sysfs.emplace(request.tree_root);
    struct rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        plan.fd_limit = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));

    UniqueFd devnull(above_stdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
    if (!devnull) {
        fail_spawn(result, errno, "cannot open /dev/null");
        return result;
    }
    std::array<Stream, 3> streams{Stream{{}, &result.out, &result.out_truncated},
                                  Stream{{}, &result.err, &result.err_truncated}, Stream{}};
    std::array<UniqueFd, 3> write_ends;
    for (std::size_t i = 0; i < streams.size(); ++i) {
        if (const int e = make_pipe(streams[i].fd, write_ends[i]); e != 0) {
            fail_spawn(result, e, "cannot create a pipe");
            return result;
        }
    }
    plan.devnull = devnull.get();
    plan.out = write_ends[0].get();
    plan.err = write_ends[1].get();
    plan.report = write_ends[2].get();

    const pid_t pid = ::fork();
    if (pid < 0) {
        fail_spawn(result, errno, "cannot fork");
        return result;
    }
    if (pid == 0) child_main(plan);
    ChildProcess child(pid);
    // Only the child may hold the write ends, or end-of-file never comes.
    for (UniqueFd& w : write_ends) w.reset();
    std::string report_bytes;
    collect(child, streams, report_bytes, request.timeout, request.cancel_fd, result);
    const int status = child.reap();
    finish(result, plan, report_bytes, status);
    return result;
}

}  // namespace hotplugfs::sandbox
