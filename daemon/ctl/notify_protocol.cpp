#include "ctl/notify_protocol.h"

#include <linux/kcmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hotplugfs::ctl {
namespace {

// Whether both descriptors are the same open file (one descriptor sent twice): systemd keeps
// one. Two opens of /dev/fuse are different connections with the same inode and flags, so only
// the kernel can tell (kcmp); where it cannot, both are kept.
bool same_file(int a, int b) {
    const pid_t self = getpid();
    return syscall(SYS_kcmp, self, self, KCMP_FILE, a, b) == 0;
}

}  // namespace

bool valid_fd_name(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    return std::none_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return c == ':' || u < 0x20 || u == 0x7f;
    });
}

NotifyMessage parse_notify_message(std::string_view text) {
    NotifyMessage m;
    while (!text.empty()) {
        const size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
        if (key == "READY")
            m.ready = value == "1";
        else if (key == "FDSTORE")
            m.fdstore = value == "1";
        else if (key == "FDSTOREREMOVE")
            m.fdstore_remove = value == "1";
        else if (key == "FDPOLL")
            m.fdpoll = value != "0";
        else if (key == "FDNAME") {
            m.fdname = std::string(value);
            m.fdname_valid = valid_fd_name(value);
        }
    }
    return m;
}

std::optional<NotifyDatagram> receive_notify(int socket, std::string& why) {
    why.clear();
    // As much as one datagram of sd_notify may hold, and room for as many descriptors as
    // SCM_RIGHTS may carry (SCM_MAX_FD).
    constexpr size_t kMaxText = 4096, kMaxFds = 253;
    NotifyDatagram out;
    std::string buffer(kMaxText + 1, '\0');
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds) + CMSG_SPACE(sizeof(ucred))];
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    while ((n = recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC)) < 0 &&
           errno == EINTR) {
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) why = std::strerror(errno);
        return std::nullopt;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SCM_RIGHTS) {
            const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                out.fds.emplace_back(fd);
            }
        } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
            ucred cred;
            std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
            out.sender = cred.pid;
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) why = "descriptors were cut off";
    if (static_cast<size_t>(n) > kMaxText) why = "the message is too long";
    out.text.assign(buffer.data(), std::min(static_cast<size_t>(n), kMaxText));
    return out;
}

size_t FdStore::apply(const NotifyMessage& message, std::vector<sandbox::UniqueFd> fds) {
    if (message.fdstore_remove && message.fdname_valid)
        std::erase_if(entries_, [&](const Entry& e) { return e.name == message.fdname; });
    if (!message.fdstore || !message.fdname_valid) return 0;
    size_t kept = 0;
    for (auto& fd : fds) {
        const bool known = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
            return same_file(e.fd.get(), fd.get());
        });
        if (known || entries_.size() >= max_) continue;
        entries_.push_back({message.fdname, std::move(fd), message.fdpoll});
        ++kept;
    }
    return kept;
}

std::vector<std::string> FdStore::drop_hung() {
    std::vector<std::string> dropped;
    std::erase_if(entries_, [&](const Entry& e) {
        if (!e.poll) return false;
        pollfd p{e.fd.get(), 0, 0};
        if (poll(&p, 1, 0) < 0 || !(p.revents & (POLLHUP | POLLERR | POLLNVAL))) return false;
        dropped.push_back(e.name);
        return true;
    });
    return dropped;
}

bool FdStore::contains(std::string_view name) const {
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry& e) { return e.name == name; });
}

std::string FdStore::listen_fdnames() const {
    std::string out;
    for (const auto& e : entries_) {
        if (!out.empty()) out += ':';
        out += e.name;
    }
    return out;
}

}  // namespace hotplugfs::ctl
