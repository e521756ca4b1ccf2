// A file-descriptor store for a daemon that hotplugctl starts: the NOTIFY_SOCKET it listens on,
// the descriptors the daemon stored there, and how they are handed to the daemon started in
// its place (sd_listen_fds(3): at 3, 4, ..., with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "ctl/notify_protocol.h"
#include "sandbox/unique_fd.h"

namespace hotplugfs::ctl {

class FdKeeper {
  public:
    // Binds a datagram socket at `path` that only its owner may write to. Throws
    // std::system_error.
    explicit FdKeeper(std::string path);
    ~FdKeeper();
    FdKeeper(const FdKeeper&) = delete;
    FdKeeper& operator=(const FdKeeper&) = delete;

    const std::string& path() const { return path_; }  // the daemon's $NOTIFY_SOCKET
    int socket() const { return socket_.get(); }       // readable when a message waits

    // Reads every message queued; acts on those `daemon` sent (systemd's NotifyAccess=main),
    // drops the others with their descriptors. Returns the log lines of what it did.
    std::vector<std::string> receive(pid_t daemon);

    FdStore& store() { return store_; }
    const FdStore& store() const { return store_; }

  private:
    std::string path_;
    sandbox::UniqueFd socket_;
    FdStore store_;
};

// The environment and descriptors of a daemon started from a store, built before fork() so
// that the child only moves descriptors and formats its PID (async-signal-safe).
class ListenHandoff {
  public:
    // `environment`: the daemon's, without any LISTEN_* (they are replaced).
    ListenHandoff(const FdStore& store, const std::vector<std::string>& environment);

    // In the child, after fork(): the stored descriptors at 3, 4, ... (inherited across exec),
    // LISTEN_PID = getpid(). Returns false (errno set) if a descriptor could not be placed.
    bool in_child();
    // The environment to exec with (valid after in_child()).
    char** envp() { return envp_.data(); }

  private:
    std::vector<int> fds_;
    std::vector<std::string> env_;
    size_t listen_pid_ = 0;  // index in env_ of "LISTEN_PID=", or npos without descriptors
    std::vector<char*> envp_;
};

}  // namespace hotplugfs::ctl
