// DeviceIo: the daemon's own reads and writes of /dev/fuse (libfuse's custom I/O), for what a
// restart needs. The kernel sends INIT once per connection, so a daemon that takes over a
// connection cannot negotiate again: it is given the INIT exchange the first daemon recorded
// here, replays the request through libfuse and checks that its answer is the one the kernel
// already holds (an answer that goes nowhere). Requests the kernel resends after a takeover
// (FUSE_NOTIFY_RESEND) are marked, so a write whose outcome is unknown is not applied twice.
// Every request read and not yet answered is in the InflightJournal, for kernels that cannot
// resend.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

struct fuse_session;
struct fuse_custom_io;

namespace hotplugfs {

class InflightJournal;

// The raw bytes of FUSE_INIT as the kernel sent it and of the daemon's answer, headers included.
struct InitExchange {
    std::string request;
    std::string reply;
};

class DeviceIo {
  public:
    // libfuse's hooks; their userdata is the session's, a FuseServer, which owns the DeviceIo.
    static const fuse_custom_io& hooks();

    ssize_t read(int fd, void* buf, size_t len);
    ssize_t writev(int fd, iovec* iov, int count);

    // Once the daemon has answered the kernel's INIT.
    std::optional<InitExchange> init_exchange() const;

    // On a connection that has done INIT already: runs `init` through the session, whose answer
    // is not sent. Returns an empty string when that answer equals the recorded one, else why
    // the two differ (this daemon would not speak the protocol the kernel agreed to).
    std::string replay_init(fuse_session* se, const InitExchange& init);

    // Asks the kernel to send again the requests a previous daemon read and never answered.
    // Returns 0, or an errno (EINVAL: a kernel older than 6.9, which cannot).
    static int request_resend(int fd);

    // Whether the kernel that sent this INIT can resend requests (FUSE_HAS_RESEND, 6.9+).
    static bool kernel_resends(const InitExchange& init);

    // Answers the request `unique` with -`error` (a request a previous daemon left unanswered).
    // Returns 0, or an errno (ENOENT: the kernel holds no such request).
    static int answer_error(int fd, uint64_t unique, int error);

    // Where requests are journaled from now on; set before the session is served.
    void set_journal(InflightJournal* journal) { journal_ = journal; }

    // True while this thread handles a request the kernel resent: its first handling may or
    // may not have taken effect before the previous daemon died.
    static bool handling_resent();

  private:
    mutable std::mutex mu_;  // guards init_ and init_unique_
    InitExchange init_;
    uint64_t init_unique_ = 0;
    std::atomic<bool> init_answered_{false};
    std::atomic<bool> replaying_{false};
    InflightJournal* journal_ = nullptr;
};

}  // namespace hotplugfs
