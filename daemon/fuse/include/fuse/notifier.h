// Notifier: tells the kernel which cached inodes and names are no longer true.
//
// Two paths, by what they lock in the kernel:
// - attribute invalidation (no page locks) is sent inline, before the write that caused it
//   returns, so every later read re-validates and sees the new bytes;
// - name removal (takes the parent directory's lock) is queued to a dedicated thread, so it
//   never runs inside a request the kernel may be holding that lock for.
#pragma once

#include "fsmodel/tree.h"
#include "fuse/known_inodes.h"
#include "support/work_queue.h"

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
    // Before a handover: true once every queued name removal was sent, false at `deadline`.
    bool drain(std::chrono::steady_clock::time_point deadline) { return jobs_.drain(deadline); }
    void apply(const fsmodel::Invalidations& inval);

private:
    using Entry = fsmodel::Invalidations::Entry;
    void send(Entry& entry);

    const KnownInodes& known_;
    fuse_session* se_ = nullptr;  // set once before serving
    WorkQueue<Entry> jobs_{[this](Entry& e) { send(e); }};  // in the order they were made
};

}  // namespace hotplugfs
