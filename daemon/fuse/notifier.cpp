#define FUSE_USE_VERSION 312
#include "fuse/notifier.h"

#include <fuse_lowlevel.h>

namespace hotplugfs {

Notifier::Notifier(const KnownInodes& known) : known_(known) {}

Notifier::~Notifier() { stop(); }

void Notifier::attach(fuse_session* se) {
    se_ = se;
    worker_ = std::thread([this] { run(); });
}

void Notifier::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void Notifier::apply(const fsmodel::Invalidations& inval) {
    if (!se_) return;
    for (uint64_t ino : inval.inodes)
        if (known_.known(ino)) fuse_lowlevel_notify_inval_inode(se_, ino, -1, 0);
    if (inval.removed_entries.empty()) return;
    {
        std::lock_guard lock(mu_);
        for (const auto& e : inval.removed_entries)
            if (known_.known(e.parent)) queue_.push_back(e);
    }
    cv_.notify_one();
}

void Notifier::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        auto entry = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        fuse_lowlevel_notify_delete(se_, entry.parent, entry.ino, entry.name.c_str(),
                                    entry.name.size());
        lock.lock();
    }
}

}  // namespace hotplugfs
