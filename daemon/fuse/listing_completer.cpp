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

void ListingCompleter::request(uint64_t ino, pid_t requester) {
    {
        std::lock_guard lock(mu_);
        if (stopping_ || requester == worker_tid_ || !queued_.insert(ino).second) return;
        queue_.push_back(ino);
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
        const uint64_t ino = queue_.front();
        queue_.pop_front();
        lock.unlock();
        if (auto path = path_of_(ino)) read_to_end(mountpoint_ + *path);
        lock.lock();
        queued_.erase(ino);
    }
}

void ListingCompleter::read_to_end(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    std::vector<char> buf(32768);
    while (syscall(SYS_getdents64, fd, buf.data(), buf.size()) > 0) {
    }
    close(fd);
}

}  // namespace hotplugfs
