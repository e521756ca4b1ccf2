// udev's netlink broadcast, confined to a private network namespace.
//
// The daemon announces its events the way systemd-udevd does after rule processing, so that
// `udevadm monitor --udev` and libudev listeners see them. uevent netlink multicasts reach every
// listener in the sender's network namespace; in the host's namespace they would reach the
// host's real udev clients (desktop hotplug handlers, systemd itself), which must never see an
// emulated event. So the broadcast socket lives in a network namespace of its own, published
// at a path like `ip netns add` does; clients join it with
// `nsenter --net=PATH udevadm monitor --udev` (or `ip netns exec NAME ...` for
// PATH=/run/netns/NAME).
#pragma once

#include <sys/types.h>

#include <string>

#include "sandbox/udev_message.h"
#include "sandbox/unique_fd.h"

namespace hotplugfs::sandbox {

// Identifies a namespace: the device and inode of its nsfs file.
struct NsId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const NsId&) const = default;
};

// The network namespace of a socket (SIOCGSKNS); throws std::system_error.
NsId socket_netns(int fd);
// The namespace a /proc/.../ns/* file or a bind mount of one refers to; throws.
NsId netns_at(const std::string& path);

// A fresh network namespace published at a file path for as long as the object lives.
class PrivateNetns {
  public:
    // Creates the namespace (on a short-lived thread: unshare(CLONE_NEWNET) affects only the
    // calling thread) and bind-mounts it onto `path`, creating the file (and its directory, one
    // level) when missing. Refuses a path that is already a mount point or a namespace.
    // Throws std::runtime_error with a one-line reason.
    explicit PrivateNetns(const std::string& path);
    // The namespace `handed_back` refers to (a previous daemon's, kept by a file-descriptor
    // store), published at `path`, or left there if it is published there already. Refuses a
    // descriptor that is not a network namespace, the host's, or a path holding another one.
    PrivateNetns(const std::string& path, UniqueFd handed_back);
    ~PrivateNetns();
    PrivateNetns(const PrivateNetns&) = delete;
    PrivateNetns& operator=(const PrivateNetns&) = delete;

    const std::string& path() const { return path_; }
    NsId id() const { return id_; }
    int fd() const { return ns_fd_.get(); }  // for a file-descriptor store
    // The namespace the daemon's threads (and the creating thread before unshare) were in.
    NsId host_id() const { return host_; }

    // A socket created inside the namespace (on a short-lived thread that joins it). Verified
    // to belong to this namespace and not to the host's; throws std::runtime_error otherwise.
    UniqueFd open_socket(int domain, int type, int protocol) const;

  private:
    void create_target();  // the file to bind onto, unless there is one
    void publish();
    void publish_handed_back();
    void unpublish() noexcept;

    std::string path_;
    bool created_file_ = false;
    bool created_dir_ = false;
    bool mounted_ = false;
    UniqueFd ns_fd_;  // keeps the namespace alive and lets threads join it
    NsId id_;
    NsId host_;
};

// A NETLINK_KOBJECT_UEVENT socket in a PrivateNetns that multicasts udev monitor messages.
class UdevBroadcaster {
  public:
    // Throws std::runtime_error: not root (listeners ignore senders other than uid 0), socket
    // errors, or a socket that is not in `netns`.
    explicit UdevBroadcaster(const PrivateNetns& netns);

    // Sends one event to the udev monitor group (thread-safe). Returns "" on success (also when
    // nobody listens), else why the event was not sent; see encode_udev_message() for what
    // `properties` must hold.
    std::string send(const UdevProperties& properties) const;

    int fd() const { return sock_.get(); }

  private:
    UniqueFd sock_;
};

}  // namespace hotplugfs::sandbox
