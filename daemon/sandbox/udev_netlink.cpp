#include "sandbox/udev_netlink.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace hotplugfs::sandbox {
namespace {

constexpr const char* kThreadNetns = "/proc/thread-self/ns/net";

std::runtime_error failure(const std::string& what, int error) {
    return std::runtime_error(what + ": " + std::strerror(error));
}

NsId id_of(const struct stat& st) {
    return {st.st_dev, st.st_ino};
}

// Runs `fn` on a thread of its own and waits for it. Namespace changes made with unshare() or
// setns() there die with that thread and never touch the daemon's other threads.
template <typename Fn>
void on_own_thread(Fn&& fn) {
    std::exception_ptr error;
    std::thread([&] {
        try {
            fn();
        } catch (...) {
            error = std::current_exception();
        }
    }).join();
    if (error) std::rethrow_exception(error);
}

// Whether `path` exists (false: it does not); throws if it cannot hold the namespace.
bool check_target(const std::string& path) {
    struct statx stx {};
    if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) != 0) {
        if (errno == ENOENT) return false;
        throw failure(path, errno);
    }
    if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
        (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        throw std::runtime_error(path + " is already a mount point (a namespace in use?)");
    struct statfs fs {};
    if (::statfs(path.c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC)
        throw std::runtime_error(path + " is already a namespace");
    if (!S_ISREG(stx.stx_mode)) throw std::runtime_error(path + " is not a regular file");
    return true;
}

}  // namespace

NsId socket_netns(int fd) {
    UniqueFd ns(::ioctl(fd, SIOCGSKNS));
    struct stat st {};
    if (!ns || ::fstat(ns.get(), &st) != 0)
        throw std::system_error(errno, std::generic_category(), "network namespace of a socket");
    return id_of(st);
}

NsId netns_at(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw std::system_error(errno, std::generic_category(), path);
    return id_of(st);
}

PrivateNetns::PrivateNetns(const std::string& path)
    : path_(std::filesystem::absolute(path).lexically_normal().string()) {
    // The destructor does not run for a constructor that throws: undo by hand.
    try {
        publish();
    } catch (...) {
        unpublish();
        throw;
    }
}

PrivateNetns::PrivateNetns(const std::string& path, UniqueFd handed_back)
    : path_(std::filesystem::absolute(path).lexically_normal().string()),
      ns_fd_(std::move(handed_back)) {
    try {
        publish_handed_back();
    } catch (...) {
        unpublish();
        throw;
    }
}

PrivateNetns::~PrivateNetns() {
    unpublish();
}

void PrivateNetns::create_target() {
    if (check_target(path_)) return;
    const std::string dir = std::filesystem::path(path_).parent_path().string();
    if (::mkdir(dir.c_str(), 0755) == 0)
        created_dir_ = true;
    else if (errno != EEXIST)
        throw failure(dir, errno);
    // Mode 0, as `ip netns add` creates it: the file is only ever a mount point.
    UniqueFd file(::open(path_.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!file) throw failure(path_, errno);
    created_file_ = true;
}

void PrivateNetns::publish() {
    create_target();
    on_own_thread([this] {
        host_ = netns_at(kThreadNetns);
        if (::unshare(CLONE_NEWNET) != 0) throw failure("unshare(CLONE_NEWNET)", errno);
        ns_fd_.reset(::open(kThreadNetns, O_RDONLY | O_CLOEXEC));
        struct stat st {};
        if (!ns_fd_ || ::fstat(ns_fd_.get(), &st) != 0) throw failure(kThreadNetns, errno);
        id_ = id_of(st);
        if (id_ == host_) throw std::runtime_error("unshare(CLONE_NEWNET) left the host namespace");
        if (::mount(kThreadNetns, path_.c_str(), nullptr, MS_BIND, nullptr) != 0)
            throw failure("cannot bind the network namespace onto " + path_, errno);
        mounted_ = true;
    });
}

void PrivateNetns::publish_handed_back() {
    struct stat st {};
    if (::ioctl(ns_fd_.get(), NS_GET_NSTYPE) != CLONE_NEWNET || ::fstat(ns_fd_.get(), &st) != 0)
        throw std::runtime_error("the descriptor handed back is not a network namespace");
    id_ = id_of(st);
    host_ = netns_at(kThreadNetns);
    if (id_ == host_ || id_ == netns_at("/proc/self/ns/net"))
        throw std::runtime_error("refusing the host network namespace handed back");
    struct statfs fs {};
    if (::statfs(path_.c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC) {
        // Still bound there by the daemon that died: serve it where it is, and unbind it at
        // the end like one this daemon bound.
        if (netns_at(path_) != id_) throw std::runtime_error(path_ + " is another namespace");
        mounted_ = true;
        return;
    }
    create_target();
    const std::string self = "/proc/self/fd/" + std::to_string(ns_fd_.get());
    if (::mount(self.c_str(), path_.c_str(), nullptr, MS_BIND, nullptr) != 0)
        throw failure("cannot bind the network namespace onto " + path_, errno);
    mounted_ = true;
}

void PrivateNetns::unpublish() noexcept {
    // MNT_DETACH: a process inside (`ip netns exec`) may hold the file; the namespace itself
    // lives on until its last user and socket are gone.
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    mounted_ = false;
    if (created_file_) ::unlink(path_.c_str());
    created_file_ = false;
    if (created_dir_) ::rmdir(std::filesystem::path(path_).parent_path().c_str());
    created_dir_ = false;
}

UniqueFd PrivateNetns::open_socket(int domain, int type, int protocol) const {
    UniqueFd sock;
    on_own_thread([&] {
        if (::setns(ns_fd_.get(), CLONE_NEWNET) != 0) throw failure("setns", errno);
        sock.reset(::socket(domain, type | SOCK_CLOEXEC, protocol));
        if (!sock) throw failure("socket", errno);
    });
    // Never trust that the thread was where it should be: a socket in the host's namespace
    // would broadcast emulated events to the host's real udev listeners.
    const NsId where = socket_netns(sock.get());
    if (where == host_ || where == netns_at("/proc/self/ns/net") || where == netns_at(kThreadNetns))
        throw std::runtime_error("refusing a socket that was opened in the host network namespace");
    if (where != id_) throw std::runtime_error("the socket is not in the namespace at " + path_);
    return sock;
}

UdevBroadcaster::UdevBroadcaster(const PrivateNetns& netns) {
    // Listeners check the sender's credentials and drop anything not from uid 0.
    if (::getuid() != 0)
        throw std::runtime_error("udev listeners accept events only from root (uid 0)");
    sock_ = netns.open_socket(AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT);
    // Bound to no group: the socket only sends. Port 0 lets the kernel pick a free one.
    struct sockaddr_nl self {};
    self.nl_family = AF_NETLINK;
    if (::bind(sock_.get(), reinterpret_cast<const sockaddr*>(&self), sizeof self) != 0)
        throw failure("cannot bind the uevent socket", errno);
}

std::string UdevBroadcaster::send(const UdevProperties& properties) const {
    std::string message;
    if (std::string why = encode_udev_message(properties, message); !why.empty()) return why;
    struct sockaddr_nl group {};
    group.nl_family = AF_NETLINK;
    group.nl_groups = kUdevMonitorGroup;
    struct iovec iov {
        message.data(), message.size()
    };
    struct msghdr msg {};
    msg.msg_name = &group;
    msg.msg_namelen = sizeof group;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = 0;
    do {
        n = ::sendmsg(sock_.get(), &msg, 0);
    } while (n < 0 && errno == EINTR);
    // ECONNREFUSED: the multicast went out but no one listens.
    if (n < 0 && errno != ECONNREFUSED)
        return std::string("cannot send the event: ") + std::strerror(errno);
    return "";
}

}  // namespace hotplugfs::sandbox
