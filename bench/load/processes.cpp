// Process helpers (processes.h).
#include "processes.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "../bench_support.h"

namespace load {

long fd_count(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = opendir(dir.c_str());
    if (!d) return -1;
    long n = 0;
    while (const dirent* e = readdir(d))
        if (e->d_name[0] != '.') ++n;
    closedir(d);
    return n;
}

long settle_fd_count(pid_t pid, long target, double seconds) {
    const uint64_t deadline = bench::now_ns() + static_cast<uint64_t>(seconds * 1e9);
    long n = fd_count(pid);
    while (n > target && bench::now_ns() < deadline) {
        usleep(20000);
        n = fd_count(pid);
    }
    return n;
}

Client::Client(const std::function<int()>& body) {
    std::fflush(nullptr);  // nothing buffered may be written twice
    pid_ = fork();
    if (pid_ < 0) bench::fail_errno("fork", errno);
    if (pid_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_DFL);
        const int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, STDIN_FILENO);
        int rc = 1;
        try {
            rc = body();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "hotplugfs-load: client %d: %s\n", getpid(), e.what());
        }
        std::fflush(nullptr);
        _exit(rc);
    }
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
}

Client::~Client() {
    if (!reaped_) {
        kill_now();
        while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
    }
    if (pidfd_ >= 0) close(pidfd_);
}

void Client::kill_now() {
    if (reaped_) return;
    if (pidfd_ >= 0)
        syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
    else
        kill(pid_, SIGKILL);  // our own unreaped child: the PID cannot have been reused
}

bool Client::wait(double seconds) {
    if (reaped_) return true;
    const uint64_t deadline = bench::now_ns() + static_cast<uint64_t>(seconds * 1e9);
    for (;;) {
        const pid_t r = waitpid(pid_, &status_, WNOHANG);
        if (r == pid_) return reaped_ = true;
        if (r < 0 && errno != EINTR) return reaped_ = true;  // not ours any more
        const uint64_t now = bench::now_ns();
        if (now >= deadline) return false;
        if (pidfd_ >= 0) {
            pollfd p{pidfd_, POLLIN, 0};
            poll(&p, 1, static_cast<int>(std::min<uint64_t>((deadline - now) / 1000000 + 1, 200)));
        } else {
            usleep(10000);
        }
    }
}

bool exited_ok(int status) {
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace load
