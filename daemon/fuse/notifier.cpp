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

void Notifier::store_async(uint64_t ino, std::string content) {
    if (!se_ || !known_.known(ino)) return;
    {
        std::lock_guard lock(mu_);
        stores_.emplace_back(ino, std::move(content));
    }
    cv_.notify_one();
}

void Notifier::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !stores_.empty(); });
        if (stopping_) return;
        if (!stores_.empty()) {
            auto [ino, content] = std::move(stores_.front());
            stores_.pop_front();
            lock.unlock();
            fuse_bufvec buf{};
            buf.count = 1;
            buf.buf[0].size = content.size();
            buf.buf[0].mem = content.data();
            fuse_lowlevel_notify_store(se_, ino, 0, &buf, fuse_buf_copy_flags{});
            lock.lock();
            continue;
        }
        auto entry = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        fuse_lowlevel_notify_delete(se_, entry.parent, entry.ino, entry.name.c_str(),
                                    entry.name.size());
        lock.lock();
    }
}

}  // namespace hotplugfs
