// Notifier: tells the kernel which cached inodes and names are no longer true.
//
// Two paths, by what they lock in the kernel:
// - attribute invalidation (no page locks) is sent inline, before the write that caused it
//   returns, so every later read re-validates and sees the new bytes;
// - name removal (takes the parent directory's lock) is queued to a dedicated thread, so it
//   never runs inside a request the kernel may be holding that lock for.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "fsmodel/tree.h"
#include "fuse/known_inodes.h"

struct fuse_session;

namespace hotplugfs {

class Notifier {
public:
    explicit Notifier(const KnownInodes& known);
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    void attach(fuse_session* se);  // before the loop starts
    void stop();                    // before the session is destroyed
    void apply(const fsmodel::Invalidations& inval);
    // Puts `content` into the kernel's cached page of `ino` (and grows its size to match),
    // from the worker thread: the page may be locked by a writer still waiting for us.
    void store_async(uint64_t ino, std::string content);

private:
    void run();

    const KnownInodes& known_;
    fuse_session* se_ = nullptr;  // set once before serving
    std::mutex mu_;               // guards queue_ and stopping_
    std::condition_variable cv_;
    std::deque<fsmodel::Invalidations::Entry> queue_;
    std::deque<std::pair<uint64_t, std::string>> stores_;
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace hotplugfs
