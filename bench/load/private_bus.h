// A dbus-daemon of the tool's own, on a socket in the tool's temporary directory, with the
// policy the integration tests use (everyone may own and send). Stopped (SIGTERM, then SIGKILL)
// and reaped by the destructor.
#pragma once

#include <sys/types.h>

#include <string>

namespace load {

class PrivateBus {
  public:
    explicit PrivateBus(const std::string& dir);  // throws when dbus-daemon does not start
    ~PrivateBus();
    PrivateBus(const PrivateBus&) = delete;
    PrivateBus& operator=(const PrivateBus&) = delete;

    const std::string& address() const { return address_; }
    pid_t pid() const { return pid_; }

  private:
    std::string address_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
};

}  // namespace load
