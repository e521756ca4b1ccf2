// One attribute read or written as shell tools do (attr_io.h).
#include "attr_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "clock.h"
#include "text.h"

namespace stress {

ReadOut read_once(const std::string& path, char* buf, size_t cap) {
    ReadOut r;
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r.err = errno;
        r.step = "open";
        return r;
    }
    const ssize_t n = read(fd, buf, cap);
    if (n < 0) {
        r.err = errno;
        r.step = "read";
        close(fd);
        return r;
    }
    r.data = std::string_view(buf, static_cast<size_t>(n));
    if (close(fd) != 0) {
        r.err = errno;
        r.step = "close";
    }
    return r;
}

long write_once(const std::string& path, std::string_view text, const char** step) {
    *step = "open";
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    *step = "write";
    const ssize_t n = write(fd, text.data(), text.size());
    const long result = n < 0 ? -errno : static_cast<long>(n);
    if (close(fd) != 0 && result >= 0) {
        *step = "close";
        return -errno;
    }
    return result;
}

std::string reread_probe(const std::string& path, char* buf, size_t cap) {
    std::string out = "then stat:";
    struct stat st {};
    if (stat(path.c_str(), &st) == 0)
        out += std::string(" size ") + std::to_string(st.st_size) + " mtime " +
               std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    else
        out += std::string(" ") + errno_name(errno);
    out += "; re-read:";
    static constexpr long kDelaysMs[] = {0, 10, 100};
    for (const long ms : kDelaysMs) {
        if (ms) sleep_ms(ms);
        const ReadOut r = read_once(path, buf, cap);
        out += std::string(" +") + std::to_string(ms) + "ms ";
        out += r.err ? errno_name(r.err) : std::string("\"") + escape(r.data) + "\"";
    }
    return out;
}

}  // namespace stress
