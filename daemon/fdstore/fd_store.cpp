#include "fdstore/fd_store.h"

#include "fdstore/handover.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace hotplugfs::fdstore {

bool available() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    return socket && *socket;
}

std::string store(const std::string& name, int fd) {
    const std::string message = std::string("FDSTORE=1\nFDNAME=") + name;
    int fds[] = {fd};
    const int r = sd_pid_notify_with_fds(0, 0, message.c_str(), fds, 1);
    if (r < 0) return std::strerror(-r);
    if (r == 0) return "no NOTIFY_SOCKET";
    return "";
}

std::string store_bytes(const std::string& name, const std::string& bytes) {
    std::string why;
    sandbox::UniqueFd fd = sealed_memfd(name, bytes, why);
    if (!fd) return why;
    return store(name, fd.get());
}

void remove(const std::string& name) {
    const std::string message = std::string("FDSTOREREMOVE=1\nFDNAME=") + name;
    sd_notify(0, message.c_str());
}

namespace {

std::multimap<std::string, sandbox::UniqueFd> read_passed() {
    std::multimap<std::string, sandbox::UniqueFd> out;
    char** names = nullptr;
    const int n = sd_listen_fds_with_names(1, &names);
    std::unique_ptr<char*, void (*)(char**)> free_names(names, [](char** v) {
        for (char** p = v; p && *p; ++p) std::free(*p);
        std::free(v);
    });
    for (int i = 0; i < n; ++i) {
        const std::string name = names && names[i] ? names[i] : "unknown";
        out.emplace(name, sandbox::UniqueFd(SD_LISTEN_FDS_START + i));
    }
    return out;
}

std::mutex passed_mu;

std::multimap<std::string, sandbox::UniqueFd>& passed() {
    static std::multimap<std::string, sandbox::UniqueFd> fds = read_passed();
    return fds;
}

}  // namespace

std::vector<sandbox::UniqueFd> take_passed(const std::string& name) {
    std::lock_guard lock(passed_mu);
    std::vector<sandbox::UniqueFd> out;
    auto [first, last] = passed().equal_range(name);
    for (auto it = first; it != last; ++it) out.push_back(std::move(it->second));
    passed().erase(first, last);
    return out;
}

sandbox::UniqueFd take_passed_one(const std::string& name) {
    auto fds = take_passed(name);
    return fds.empty() ? sandbox::UniqueFd() : std::move(fds.front());
}

void keep(const std::string& name, int fd, bool handed_back) {
    if (!available() || handed_back || fd < 0) return;
    if (const std::string why = store(name, fd); !why.empty())
        spdlog::warn("cannot keep {} in the file-descriptor store: {}", name, why);
}

std::vector<std::string> close_unclaimed() {
    std::lock_guard lock(passed_mu);
    std::vector<std::string> names;
    for (const auto& entry : passed()) names.push_back(entry.first);
    passed().clear();
    return names;
}

std::string read_bytes(int fd) {
    std::string out;
    char buf[4096];
    for (off_t off = 0;;) {
        const ssize_t n = pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
        off += n;
    }
    return out;
}

}  // namespace hotplugfs::fdstore
