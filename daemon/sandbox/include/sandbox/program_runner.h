// Runs one program to completion, the way udev runs a RUN{program} or PROGRAM: no stdin,
// stdout and stderr captured, a deadline enforced on the whole process group, and, when asked,
// a private mount namespace where the emulated tree is bound over /sys.
//
// Safe to call from any thread of the multi-threaded daemon: no lock is held across fork(), the
// child calls only async-signal-safe functions before execve(), and no descriptor of the daemon
// (the FUSE channel, logs, sockets) reaches the program. The child is always reaped, and every
// process left in its process group is killed when it exits or times out (as udev kills what a
// RUN program leaves behind). Processes that leave the group (setsid) are beyond reach.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace hotplugfs::sandbox {

// Each of stdout and stderr keeps at most this much; the rest is read and dropped so the
// program never blocks on a full pipe.
inline constexpr std::size_t kRunOutputCap = 64 * 1024;

struct RunRequest {
    // argv[0] is an absolute path, or a name looked up in PATH from `env` (like execvpe(); the
    // default PATH when env has none is /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:
    // /sbin:/bin; empty PATH elements are ignored rather than meaning the working directory).
    std::vector<std::string> argv;
    std::vector<std::string> env;  // KEY=VALUE: the program's complete environment
    std::string tree_root;         // the daemon's sysfs root; "" runs without a namespace
    // Zero or negative: no deadline.
    std::chrono::milliseconds timeout{std::chrono::seconds(180)};
    // When this descriptor becomes readable (an eventfd the daemon signals on shutdown), the
    // process group is killed as at the deadline. -1: none.
    int cancel_fd = -1;
};

struct RunResult {
    int exit_status = -1;     // the exit code; -1 if killed by a signal or never started
    int signal = 0;           // the signal that ended the program, else 0
    bool timed_out = false;   // the deadline passed and the process group was killed
    bool cancelled = false;   // cancel_fd fired and the process group was killed
    int spawn_errno = 0;      // why the program could not be started (0: it was started)
    std::string spawn_error;  // spawn_errno in words, naming the step that failed
    std::string out, err;
    bool out_truncated = false, err_truncated = false;
    std::vector<std::string> sysfs_bound;  // the /sys directories the emulated tree covered
};

// Blocks until the program and its process group are gone (or the deadline kills them).
RunResult run_program(const RunRequest& request);

}  // namespace hotplugfs::sandbox
