#include "fdstore/handover.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

extern char** environ;

namespace hotplugfs::fdstore {
namespace {

constexpr const char* kHandoverVar = "HOTPLUGFSD_HANDOVER";  // name=fd:name=fd...
constexpr const char* kDetachedVar = "HOTPLUGFSD_DETACHED";  // "1": no terminal
constexpr std::string_view kDropped[] = {"HOTPLUGFSD_HANDOVER=", "HOTPLUGFSD_DETACHED=",
                                         "LISTEN_FDS=", "LISTEN_FDNAMES=", "LISTEN_PID="};

std::vector<std::pair<std::string, int>> parse_handover(const std::string& text) {
    std::vector<std::pair<std::string, int>> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find(':', pos);
        if (end == std::string::npos) end = text.size();
        const std::string item = text.substr(pos, end - pos);
        pos = end + 1;
        const size_t eq = item.rfind('=');
        if (eq == std::string::npos || eq == 0) continue;
        char* stop = nullptr;
        const long fd = std::strtol(item.c_str() + eq + 1, &stop, 10);
        if (*stop || fd < 3 || fcntl(static_cast<int>(fd), F_GETFD) < 0) continue;
        out.emplace_back(item.substr(0, eq), static_cast<int>(fd));
    }
    return out;
}

}  // namespace

std::string started_executable() {
    std::error_code ec;
    const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : path.string();
}

bool accept_handover(bool& detached) {
    const char* handover = std::getenv(kHandoverVar);
    const char* detached_value = std::getenv(kDetachedVar);
    detached = detached_value && std::string_view(detached_value) == "1";
    if (!handover) return false;
    auto fds = parse_handover(handover);
    unsetenv(kHandoverVar);
    unsetenv(kDetachedVar);
    const int n = static_cast<int>(fds.size());
    // Out of the way of 3 .. 3+n-1 first, so that none is overwritten before it moved.
    for (auto& [name, fd] : fds) {
        const int high = fcntl(fd, F_DUPFD_CLOEXEC, 3 + n);
        close(fd);
        fd = high;
    }
    std::string names;
    for (int i = 0; i < n; ++i) {
        if (fds[i].second >= 0) {
            dup2(fds[i].second, 3 + i);
            close(fds[i].second);
        }
        if (i) names += ':';
        names += fds[i].first;
    }
    setenv("LISTEN_FDS", std::to_string(n).c_str(), 1);
    setenv("LISTEN_FDNAMES", names.c_str(), 1);
    setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    return true;
}

sandbox::UniqueFd sealed_memfd(const std::string& name, const std::string& bytes,
                               std::string& why) {
    sandbox::UniqueFd fd(memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) {
        why = std::string("memfd_create: ") + std::strerror(errno);
        return fd;
    }
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            why = std::string("write: ") + std::strerror(errno);
            return {};
        }
        done += static_cast<size_t>(n);
    }
    // Whoever receives it reads what was written, and nobody can change it on the way.
    if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
        0) {
        why = std::string("sealing: ") + std::strerror(errno);
        return {};
    }
    return fd;
}

std::string reexec(const std::string& executable, char* const* argv,
                   const std::vector<std::pair<std::string, int>>& fds, bool detached) {
    if (executable.empty()) return "the daemon's executable is unknown";
    // Copies without close-on-exec: only they outlive the exec.
    std::vector<sandbox::UniqueFd> passed;
    std::string handover;
    for (const auto& [name, fd] : fds) {
        sandbox::UniqueFd copy(fcntl(fd, F_DUPFD, 3));
        if (!copy) return "cannot pass " + name + ": " + std::strerror(errno);
        if (!handover.empty()) handover += ':';
        handover += name + '=' + std::to_string(copy.get());
        passed.push_back(std::move(copy));
    }
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string_view entry(*e);
        bool dropped = false;
        for (auto prefix : kDropped) dropped = dropped || entry.starts_with(prefix);
        if (!dropped) env.emplace_back(entry);
    }
    env.push_back(std::string(kHandoverVar) + '=' + handover);
    if (detached) env.push_back(std::string(kDetachedVar) + "=1");
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(executable.c_str(), argv, envp.data());
    return executable + ": " + std::strerror(errno);  // `passed` closes the copies
}

}  // namespace hotplugfs::fdstore
