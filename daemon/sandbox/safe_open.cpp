#include "sandbox/safe_open.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hotplugfs::sandbox {
namespace {

const char* kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a regular file";
}

// /dev/null by what it is, not by its name: what is written to it goes nowhere, so a log may
// be sent there (--log-file /dev/null). Never a file to replace: rename() would replace it.
bool is_null_device(const struct stat& st) {
    return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

OpenedFile failure(std::string why, int code) {
    return OpenedFile{UniqueFd(), std::move(why), code};
}

OpenedFile failure() {
    const int code = errno;
    return failure(std::strerror(code), code);
}

}  // namespace

std::string unsafe_file_reason(const struct stat& st) {
    if (S_ISLNK(st.st_mode)) return "is a symbolic link; refusing to follow it";
    if (!S_ISREG(st.st_mode))
        return std::string("is ") + kind_of(st.st_mode) + ", not a regular file";
    if (st.st_uid != ::geteuid())
        return std::string("is owned by uid ") + std::to_string(st.st_uid) + ", not by uid " +
               std::to_string(::geteuid());
    // A second name of a file of ours, made where we cannot see, could be /etc/shadow's.
    if (st.st_nlink > 1)
        return std::string("has ") + std::to_string(st.st_nlink) + " hard links, not one";
    return {};
}

OpenedFile open_own_file(const std::string& path, OpenFor how) {
    const int access = how == OpenFor::Reading ? O_RDONLY : O_WRONLY | O_APPEND;
    // A file removed between the two steps below is looked for again, a few times.
    for (int attempt = 0; attempt < 4; ++attempt) {
        if (how == OpenFor::Appending) {
            // O_EXCL: only a name that did not exist, which nothing can have been planted at.
            UniqueFd made(::open(
                path.c_str(), access | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644));
            if (made) return OpenedFile{std::move(made), {}, 0};
            if (errno != EEXIST) return failure();
        }
        // O_PATH opens nothing for I/O: no FIFO blocks it, no device notices it.
        UniqueFd probe(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!probe) {
            if (errno == ENOENT && how == OpenFor::Appending) continue;
            return failure();
        }
        struct stat st {};
        if (::fstat(probe.get(), &st) != 0) return failure();
        const bool null_log = how == OpenFor::Appending && is_null_device(st);
        if (std::string why = unsafe_file_reason(st); !why.empty() && !null_log)
            return failure(std::move(why), EPERM);
        // Opening the O_PATH descriptor opens the inode just checked; `path` is not looked up
        // again, so nothing swapped in meanwhile can be opened instead.
        const std::string self = std::string("/proc/self/fd/") + std::to_string(probe.get());
        UniqueFd fd(::open(self.c_str(), access | O_NOCTTY | O_CLOEXEC));
        if (!fd) return failure();
        return OpenedFile{std::move(fd), {}, 0};
    }
    return failure("keeps disappearing while it is opened", ENOENT);
}

std::string check_replaceable(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? "" : std::strerror(errno);
    return unsafe_file_reason(st);
}

}  // namespace hotplugfs::sandbox
