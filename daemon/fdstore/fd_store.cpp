#include "fdstore/fd_store.h"

#include "fdstore/handover.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

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

std::multimap<std::string, sandbox::UniqueFd> take_passed() {
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
