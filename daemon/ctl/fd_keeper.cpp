#include "ctl/fd_keeper.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

namespace hotplugfs::ctl {
namespace {

std::system_error failure(const std::string& what) {
    return std::system_error(errno, std::generic_category(), what);
}

bool starts_with_listen(const std::string& assignment) {
    return assignment.starts_with("LISTEN_FDS=") || assignment.starts_with("LISTEN_FDNAMES=") ||
           assignment.starts_with("LISTEN_PID=");
}

}  // namespace

FdKeeper::FdKeeper(std::string path) : path_(std::move(path)) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path_.size() >= sizeof sa.sun_path)
        throw std::system_error(ENAMETOOLONG, std::generic_category(), path_);
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
    socket_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket_) throw failure("socket");
    // The sender's PID, to tell the daemon's messages from anyone else's.
    const int on = 1;
    if (setsockopt(socket_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
        throw failure("SO_PASSCRED");
    if (bind(socket_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw failure(path_);
    chmod(path_.c_str(), 0600);
}

FdKeeper::~FdKeeper() {
    unlink(path_.c_str());
}

std::vector<std::string> FdKeeper::receive(pid_t daemon) {
    std::vector<std::string> log;
    for (;;) {
        std::string why;
        auto datagram = receive_notify(socket_.get(), why);
        if (!datagram) {
            if (!why.empty()) log.push_back("reading a notification: " + why);
            return log;
        }
        if (datagram->sender != daemon) {
            log.push_back("ignored a notification from PID " + std::to_string(datagram->sender));
            continue;
        }
        if (!why.empty()) {  // cut short: acting on part of it could store the wrong thing
            log.push_back("ignored a notification: " + why);
            continue;
        }
        const NotifyMessage message = parse_notify_message(datagram->text);
        const size_t sent = datagram->fds.size();
        const size_t kept = store_.apply(message, std::move(datagram->fds));
        if (message.fdstore && kept != sent)
            log.push_back("kept " + std::to_string(kept) + " of " + std::to_string(sent) +
                          " descriptors named " + message.fdname);
    }
}

ListenHandoff::ListenHandoff(const FdStore& store, const std::vector<std::string>& environment)
    : listen_pid_(std::string::npos) {
    for (const auto& e : environment)
        if (!starts_with_listen(e)) env_.push_back(e);
    for (const auto& entry : store.entries()) fds_.push_back(entry.fd.get());
    if (!fds_.empty()) {
        env_.push_back("LISTEN_FDS=" + std::to_string(fds_.size()));
        env_.push_back("LISTEN_FDNAMES=" + store.listen_fdnames());
        listen_pid_ = env_.size();
        env_.push_back("LISTEN_PID=" + std::string(20, '\0'));  // room for any PID
    }
    for (auto& e : env_) envp_.push_back(e.data());
    envp_.push_back(nullptr);
}

bool ListenHandoff::in_child() {
    const int n = static_cast<int>(fds_.size());
    // Out of the way of 3 .. 3+n-1 first, so that no descriptor is overwritten before it moved.
    for (int& fd : fds_)
        if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 3 + n)) < 0) return false;
    for (int i = 0; i < n; ++i)
        if (dup2(fds_[i], 3 + i) < 0) return false;  // dup2 clears close-on-exec
    if (listen_pid_ != std::string::npos) {
        char* digits = env_[listen_pid_].data() + sizeof "LISTEN_PID=" - 1;
        char reversed[20];
        int len = 0;
        for (pid_t pid = getpid(); pid > 0 && len < 20; pid /= 10) reversed[len++] = '0' + pid % 10;
        for (int i = 0; i < len; ++i) digits[i] = reversed[len - 1 - i];
        digits[len] = '\0';
    }
    return true;
}

}  // namespace hotplugfs::ctl
