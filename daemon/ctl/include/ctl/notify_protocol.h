// The service-manager side of systemd's notification protocol (sd_notify(3)), as far as a
// file-descriptor store needs it: the text of a datagram, the descriptors it carries
// (SCM_RIGHTS) and who sent it (SCM_CREDENTIALS), and the store they fill, handed to the next
// daemon as sd_listen_fds(3) expects (docs/restarts.md).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/unique_fd.h"

namespace hotplugfs::ctl {

// What a keeper acts on in one message; other assignments (STATUS=, MAINPID=...) are ignored.
struct NotifyMessage {
    bool ready = false;             // READY=1
    bool fdstore = false;           // FDSTORE=1: keep the descriptors sent with it
    bool fdstore_remove = false;    // FDSTOREREMOVE=1: close those named FDNAME=
    bool fdpoll = true;             // FDPOLL=0: do not drop them on POLLHUP/POLLERR
    std::string fdname = "stored";  // FDNAME=, systemd's default when there is none
    bool fdname_valid = true;       // false: FDNAME= was empty, too long, or had ':' or controls
};

// One "KEY=VALUE" per line; a line without '=' is ignored, as systemd does.
NotifyMessage parse_notify_message(std::string_view text);

// What sd_listen_fds_with_names(3) accepts as a name.
bool valid_fd_name(std::string_view name);

struct NotifyDatagram {
    std::string text;
    std::vector<sandbox::UniqueFd> fds;  // close-on-exec
    pid_t sender = 0;                    // 0 when the socket does not pass credentials
};

// Reads one datagram without waiting: nullopt when none is queued (EAGAIN), or on an error
// (`why` says which). Descriptors that came with it are owned by the result, even when the
// message was cut short.
std::optional<NotifyDatagram> receive_notify(int socket, std::string& why);

// The descriptors kept for a daemon, in the order they came.
class FdStore {
  public:
    struct Entry {
        std::string name;
        sandbox::UniqueFd fd;
        bool poll = true;
    };

    explicit FdStore(size_t max = 16) : max_(max) {}

    // Keeps or removes what `message` says; descriptors it does not keep are closed. Returns
    // how many it kept.
    size_t apply(const NotifyMessage& message, std::vector<sandbox::UniqueFd> fds);

    // Closes and forgets the descriptors that report POLLHUP or POLLERR (their peer is gone:
    // for a FUSE connection, its mount), unless stored with FDPOLL=0. Returns their names.
    std::vector<std::string> drop_hung();

    bool contains(std::string_view name) const;
    bool empty() const { return entries_.empty(); }
    size_t size() const { return entries_.size(); }
    const std::vector<Entry>& entries() const { return entries_; }
    // $LISTEN_FDNAMES for them: the names joined by ':'.
    std::string listen_fdnames() const;
    void clear() { entries_.clear(); }

  private:
    size_t max_;
    std::vector<Entry> entries_;
};

}  // namespace hotplugfs::ctl
