#include "fuse/listing_completer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <vector>

namespace hotplugfs {

ListingCompleter::ListingCompleter(std::string mountpoint, PathOf path_of)
    : mountpoint_(std::move(mountpoint)), path_of_(std::move(path_of)) {}

ListingCompleter::~ListingCompleter() {
    stop();
    join();
}

void ListingCompleter::start() {
    std::atomic<bool> started{false};
    worker_ = std::thread([this, &started] {
        {
            std::lock_guard lock(mu_);
            worker_tid_ = static_cast<pid_t>(syscall(SYS_gettid));
        }
        started = true;
        started.notify_one();
        run();
    });
    started.wait(false);
}

void ListingCompleter::request(uint64_t ino, uint64_t end_offset, pid_t requester) {
    {
        std::lock_guard lock(mu_);
        if (stopping_ || requester == worker_tid_ || !queued_.insert(ino).second) return;
        queue_.emplace_back(ino, end_offset);
    }
    cv_.notify_one();
}

void ListingCompleter::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
}

void ListingCompleter::join() {
    if (worker_.joinable()) worker_.join();
}

void ListingCompleter::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        const auto [ino, end_offset] = queue_.front();
        queue_.pop_front();
        lock.unlock();
        if (auto path = path_of_(ino)) read_end(mountpoint_ + *path, end_offset);
        lock.lock();
        queued_.erase(ino);
    }
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
