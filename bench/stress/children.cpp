// Forking, watching and reaping the child processes (children.h).
#include "children.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>

#include "clock.h"

namespace stress {

pid_t spawn(Slot& slot, const std::function<void()>& body) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(3);
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    int rc = 0;
    try {
        body();
        slot.finished = 1;
    } catch (const std::exception& e) {
        record(slot, kChild, -1, "-", "", std::string("exception: ") + e.what());
        rc = 3;
    } catch (...) {
        record(slot, kChild, -1, "-", "", "unknown exception");
        rc = 3;
    }
    _exit(rc);
}

namespace {

// Reaps every child that has ended; returns how many are still alive.
size_t reap(std::vector<Child>& children) {
    size_t alive = 0;
    for (auto& ch : children) {
        if (ch.pid <= 0 || ch.reaped) continue;
        int status = 0;
        const pid_t r = waitpid(ch.pid, &status, WNOHANG);
        if (r == ch.pid || (r < 0 && errno == ECHILD)) {
            ch.reaped = true;
            ch.status = r == ch.pid ? status : -1;
        } else {
            ++alive;
        }
    }
    return alive;
}

void kill_all(std::vector<Child>& children, bool stalled, size_t alive, const Options& o,
              Slot& parent_slot) {
    char why_buf[64];
    if (stalled)
        std::snprintf(why_buf, sizeof why_buf, "no progress for %g s", o.stall_timeout);
    else
        std::snprintf(why_buf, sizeof why_buf, "timeout of %g s", o.timeout);
    const std::string why = why_buf;
    std::fprintf(stderr, "hotplugfs-stress: %s; killing %zu children\n", why.c_str(), alive);
    record(parent_slot, kChild, -1, "-", "", why + ": children killed");
    for (auto& ch : children)
        if (ch.pid > 0 && !ch.reaped) kill(ch.pid, SIGKILL);
}

void give_up(const std::vector<Child>& children, Slot& parent_slot) {
    for (const auto& ch : children)
        if (ch.pid > 0 && !ch.reaped)
            record(parent_slot, kChild, -1, "-", "",
                   std::string("pid ") + std::to_string(ch.pid) +
                       " did not die 10 s after SIGKILL (stuck in a FUSE request?)");
}

}  // namespace

bool wait_all(std::vector<Child>& children, const std::function<uint64_t()>& progress,
              const Options& o, uint64_t start, Slot& parent_slot) {
    uint64_t last = progress();
    uint64_t last_change = now_ns();
    bool killed = false;
    uint64_t killed_at = 0;
    for (;;) {
        const size_t alive = reap(children);
        if (alive == 0) return !killed;
        const uint64_t now = now_ns();
        if (const uint64_t p = progress(); p != last) {
            last = p;
            last_change = now;
        }
        const bool stalled = static_cast<double>(now - last_change) / 1e9 > o.stall_timeout;
        const bool overtime = o.timeout > 0 && static_cast<double>(now - start) / 1e9 > o.timeout;
        if (!killed && (stalled || overtime)) {
            kill_all(children, stalled, alive, o, parent_slot);
            killed = true;
            killed_at = now;
        }
        if (killed && static_cast<double>(now - killed_at) / 1e9 > 10.0) {
            give_up(children, parent_slot);
            return false;
        }
        sleep_ms(20);
    }
}

void report_exit(const Child& ch, const Slot& slot, const std::string& name, Slot& parent_slot) {
    if (ch.pid <= 0 || !ch.reaped) return;
    const std::string who = name + " (pid " + std::to_string(ch.pid) + ")";
    if (ch.status == -1)
        record(parent_slot, kChild, -1, "-", "", who + ": lost");
    else if (WIFSIGNALED(ch.status))
        record(parent_slot, kChild, -1, "-", "",
               who + ": killed by signal " + std::to_string(WTERMSIG(ch.status)));
    else if (WEXITSTATUS(ch.status) != 0 || !slot.finished)
        record(parent_slot, kChild, -1, "-", "",
               who + ": exit status " + std::to_string(WEXITSTATUS(ch.status)));
}

}  // namespace stress
