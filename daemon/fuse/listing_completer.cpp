#include "fuse/listing_completer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

namespace hotplugfs {

ListingCompleter::ListingCompleter(std::string mountpoint, PathOf path_of)
    : mountpoint_(std::move(mountpoint)), path_of_(std::move(path_of)) {}

ListingCompleter::~ListingCompleter() {
    stop();
    join();
}

void ListingCompleter::start() { jobs_.start(); }

void ListingCompleter::request(uint64_t ino, uint64_t end_offset, pid_t requester) {
    if (requester == jobs_.tid()) return;  // its own reads
    {
        std::lock_guard lock(mu_);
        if (!queued_.insert(ino).second) return;
    }
    if (!jobs_.push({ino, end_offset})) {
        std::lock_guard lock(mu_);
        queued_.erase(ino);
    }
}

void ListingCompleter::stop() { jobs_.stop(); }

void ListingCompleter::join() { jobs_.join(); }

void ListingCompleter::complete(const Job& job) {
    const auto [ino, end_offset] = job;
    if (auto path = path_of_(ino)) read_end(mountpoint_ + *path, end_offset);
    std::lock_guard lock(mu_);
    queued_.erase(ino);
}

// One READDIR at the end offset returns nothing, which tells the kernel the cached listing
// is complete (it must end exactly where the cached entries end).
void ListingCompleter::read_end(const std::string& path, uint64_t end_offset) {
    const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    std::vector<char> buf(4096);
    if (lseek(fd, static_cast<off_t>(end_offset), SEEK_SET) >= 0)
        while (syscall(SYS_getdents64, fd, buf.data(), buf.size()) > 0) {
        }
    close(fd);
}

}  // namespace hotplugfs
