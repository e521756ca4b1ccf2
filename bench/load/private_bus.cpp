// PrivateBus (private_bus.h).
#include "private_bus.h"

#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <sstream>

#include "../bench_support.h"

namespace load {
namespace {

constexpr const char* kConfig =
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <type>session</type>\n"
    "  <listen>unix:path=@SOCKET@</listen>\n"
    "  <auth>EXTERNAL</auth>\n"
    "  <policy context=\"default\">\n"
    "    <allow user=\"*\"/>\n"
    "    <allow own=\"*\"/>\n"
    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
    "    <allow eavesdrop=\"true\"/>\n"
    "  </policy>\n"
    "</busconfig>\n";

bool wait_gone(int pidfd, double seconds) {
    pollfd p{pidfd, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(seconds * 1000)) > 0;
}

}  // namespace

PrivateBus::PrivateBus(const std::string& dir) {
    const std::string conf = dir + "/bus.conf";
    std::string text = kConfig;
    text.replace(text.find("@SOCKET@"), 8, dir + "/bus.sock");
    bench::write_text_file(conf, text);
    // The forked dbus-daemon becomes our child: the tool is a child subreaper.
    const auto r = bench::run_command(
        {"dbus-daemon", "--config-file=" + conf, "--fork", "--print-address=1", "--print-pid=1"},
        30);
    std::istringstream out(r.out);
    long pid = -1;
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0 || !(out >> address_ >> pid) || pid <= 1)
        throw bench::Error("dbus-daemon did not start (" + bench::describe_status(r.status) +
                           "): " + r.err);
    pid_ = static_cast<pid_t>(pid);
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) bench::fail_errno("pidfd_open(dbus-daemon)", errno);
}

PrivateBus::~PrivateBus() {
    if (pidfd_ < 0) return;
    syscall(SYS_pidfd_send_signal, pidfd_, SIGTERM, nullptr, 0);
    if (!wait_gone(pidfd_, 5)) {
        syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
        wait_gone(pidfd_, 5);
    }
    int st;
    while (waitpid(pid_, &st, WNOHANG) < 0 && errno == EINTR) {
    }
    close(pidfd_);
}

}  // namespace load
