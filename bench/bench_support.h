// Support code for hotplugfs-bench: clocks and percentiles, the file operations that are
// timed, daemons the benchmark starts (and always stops), a private tmpfs, and the clean-up
// that runs on every way out, including Ctrl-C.
#pragma once

#include <dirent.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// ---- errors and interruption ----------------------------------------------------------------

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// SIGINT, SIGTERM and SIGHUP only set a flag (no SA_RESTART, so blocking calls return EINTR);
// long loops call check_interrupted(), which throws, and the clean-up runs on the way out.
void install_signal_handlers();
bool interrupted();
void check_interrupted();

// "<what>: <strerror(err)>"
[[noreturn]] void fail_errno(const std::string& what, int err);

// ---- time and statistics --------------------------------------------------------------------

inline uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

struct Summary {
    size_t n = 0;
    double min = 0, p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles of the samples (any unit; the summary keeps it).
Summary summarize(std::vector<double> samples);

// ---- file operations (all relative to a directory fd, like lsmem's sysroot walk) -------------

// open(O_RDONLY) + one read(4096) + close. Returns the bytes read, or -errno; buf gets them.
long read_at(int dirfd, const char* rel, char* buf, size_t size = 4096);
// open(flags) + one write + close. Returns write()'s result, or -errno (of open or write).
long write_at(int dirfd, const char* rel, std::string_view data, int flags);
// The whole content as a string; throws on error.
std::string slurp_at(int dirfd, const std::string& rel);
// Opens a directory (O_PATH is not enough for readdir; O_RDONLY|O_DIRECTORY), throws on error.
int open_dir(const std::string& path);

// Block numbers N of the memoryN entries in a memory directory, sorted.
// A fresh directory stream over the directory `memdirfd` refers to; throws on failure.
DIR* open_dir_stream(int memdirfd);
std::vector<uint64_t> list_blocks(int memdirfd);

// ---- processes ------------------------------------------------------------------------------

struct CommandResult {
    int status = -1;       // wait status
    double seconds = 0;    // from fork to exit
    std::string out, err;  // captured output (stdout, stderr)
};
// Runs argv (PATH lookup) with stdin /dev/null, env LC_ALL=C, capturing its output.
CommandResult run_command(const std::vector<std::string>& argv, double timeout_s = 120);
std::string describe_status(int status);

// VmRSS (KiB) of a process, or -1.
long rss_kib(pid_t pid);

// ---- mounts ---------------------------------------------------------------------------------

bool is_mounted(const std::string& path);
// True if anything is mounted at or below dir.
bool has_mounts_below(const std::string& dir);
void lazy_fuse_unmount(const std::string& path);  // fusermount3 -u -z, errors ignored

// ---- daemons --------------------------------------------------------------------------------

// One hotplugfsd started by the benchmark. start() returns once the daemonizing start exits
// (that is, once the mount answers); stop() sends SIGTERM by PID (pidfd), waits, escalates to
// SIGKILL, and clears the mount with fusermount3 -u -z if it is still there.
class Daemon {
  public:
    Daemon(std::string exe, std::string dir, std::string name);
    ~Daemon();  // stop(), errors swallowed
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Creates dir/<name>/sys and starts the daemon on it. Throws (with the log's tail) if the
    // start fails. Returns the seconds from fork+exec to the start command's exit.
    double start(const std::optional<std::string>& config, const std::vector<std::string>& extra);
    void stop(double timeout_s = 30);

    pid_t pid() const { return pid_; }
    bool running() const { return pidfd_ >= 0; }
    const std::string& root() const { return root_; }  // dir/<name>: lsmem --sysroot ROOT
    const std::string& sys() const { return sys_; }    // ROOT/sys: the mount point
    std::string mem() const { return sys_ + "/devices/system/memory"; }
    std::string log_tail() const;

  private:
    std::string exe_, root_, sys_, pid_file_, log_file_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    bool mounted_ = false;
};

// One FUSE server the benchmark runs in the foreground as its own child (the floor server,
// lxcfs): start() forks and execs argv, and returns once `ready_path` (a path inside the mount)
// answers stat() on a mount at `mountpoint`; stop() sends SIGTERM by PID (pidfd), waits,
// escalates to SIGKILL, reaps the child, and clears the mount with fusermount3 -u -z if it is
// still there. The destructor stops it, so every way out (errors, Ctrl-C) unmounts.
class ForegroundServer {
  public:
    ForegroundServer(std::string mountpoint, std::string log_file);
    ~ForegroundServer();  // stop(), errors swallowed
    ForegroundServer(const ForegroundServer&) = delete;
    ForegroundServer& operator=(const ForegroundServer&) = delete;

    // Creates the mount point. Throws (with the log's tail) if the server exits or does not
    // answer within timeout_s; it is stopped and unmounted first.
    void start(const std::vector<std::string>& argv, const std::string& ready_path,
               double timeout_s = 30);
    void stop(double timeout_s = 10);

    pid_t pid() const { return pid_; }
    bool running() const { return pidfd_ >= 0; }
    const std::string& mountpoint() const { return mountpoint_; }
    std::string log_tail() const;

  private:
    std::string mountpoint_, log_file_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    bool started_ = false;
};

// ---- the benchmark's temporary directory and tmpfs ------------------------------------------

// mkdtemp under /tmp; on destruction unmounts the tmpfs (if mounted) and removes the
// directory, but only when nothing is mounted below it any more.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // Mounts a private tmpfs at path()/tmpfs and returns that path.
    std::string mount_tmpfs();
    void unmount_tmpfs();

  private:
    std::string path_;
    std::string tmpfs_;
};

void write_text_file(const std::string& path, const std::string& text);

}  // namespace bench
