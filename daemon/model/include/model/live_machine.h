// LiveMachine: the one owner of the model. It holds the Machine and its Tree, with the two
// locks that make them safe to share between FUSE threads, the control plane and event
// delivery, and it is the only way to change them: a write through the mount, a D-Bus method,
// a rule's ATTR write, a device plug and a Load all come here, and each change is published
// once to the listeners (ChangeListener), who never call back to change it.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "fsmodel/tree.h"
#include "hotplug/machine.h"
#include "hotplug/spec.h"
#include "model/change_listener.h"

namespace hotplugfs {

class LiveMachine {
  public:
    // Makes a new state durable before it shows: 0, or the errno of the failed write.
    using PersistHook = std::function<int(const hotplug::MachineSnapshot&)>;

    // `spec`: what `machine` was built from, which restore() restores onto. `changing`: what
    // stat() says of files that can change (the exact mode: like sysfs).
    LiveMachine(hotplug::MachineSpec spec, hotplug::Machine machine, int64_t boot_ns,
                fsmodel::ChangingFiles changing = fsmodel::ChangingFiles::CachedContent);

    // Readers: any number at once, never blocked by a slow operation's waiting.
    template <class F>
    auto read(F&& f) const {
        std::shared_lock lock(data_);
        return f(machine_, tree_);
    }

    struct WriteResult {
        long result = 0;  // bytes consumed or -errno
        hotplug::Outcome outcome;
        fsmodel::Invalidations invalidations;  // published to the listeners already
    };
    // How an operation that takes time (a slow offline) waits for its caller: `wait` sleeps up
    // to `ms` (-1: without limit) and returns true when the caller was interrupted by a signal.
    // `may_block` (optional) is called before the operation may block: waiting for another
    // operation, for a slow offline, or for the persist hook's disk.
    struct Waiter {
        std::function<bool(int64_t ms)> wait;
        std::function<void()> may_block = {};
    };
    // The waiter of a caller nobody can signal (the control plane, a rule's ATTR write): a slow
    // offline is waited out, but past `max_wait_ms` (-1: no bound) it is interrupted as a
    // signal would (EINTR, the block online again), and stop_waiting() interrupts it at once.
    Waiter unattended(int64_t max_wait_ms = -1);
    // At shutdown, before the callers that wait unattended are joined: ends their waits.
    void stop_waiting();

    // One write() to a file: the store, then what the kernel's caches must drop.
    WriteResult write_file(uint64_t ino, std::string_view data, const Waiter& waiter);
    // A model operation from the control plane (a device plug, a fault, a parameter).
    WriteResult apply(const std::function<hotplug::Outcome(hotplug::Machine&)>& op,
                      const Waiter& waiter);
    // Brings the machine to a saved state of the same configuration (D-Bus Load): EINVAL with
    // outcome.error naming the field when `snap` does not fit the spec, and nothing changes.
    // SEQNUMs never go back, whatever the snapshot says. What is refreshed is what the model
    // finds different (Machine::changes_since), devices included. No uevents, like a restore.
    WriteResult restore(hotplug::MachineSnapshot snap);

    // The inode at `path` ("devices/system/memory/memory6/state", relative to the root, no
    // symlinks followed), or nullopt when it does not exist.
    std::optional<uint64_t> resolve(std::string_view path) const;

    // Before serving: `listener` is told of every change from now on (ChangeListener).
    void subscribe(ChangeListener& listener) { listeners_.push_back(&listener); }
    // Called with the new state of every operation that changes the model, with op_ held
    // (so the next operation waits for it) and before the change shows: an operation whose
    // state the hook cannot write fails with the hook's errno, the model and the tree as they
    // were, and nothing published. So no SEQNUM is ever seen that a restart could reuse.
    void set_persist_hook(PersistHook hook) { persist_hook_ = std::move(hook); }
    hotplug::MachineSnapshot snapshot() const;
    std::mutex& operation_lock() { return op_; }

  private:
    using Operation = std::function<long(hotplug::Machine&, hotplug::Outcome&)>;  // bytes/-errno
    // Every change: `op` under the operation lock, its slow part waited out, the new state
    // persisted (with a hook), then published. `written`: the file, when it is a write().
    WriteResult run(const Operation& op, const Waiter& waiter,
                    std::optional<uint64_t> written = std::nullopt);
    // run() with a persist hook; false when the new state could not be persisted (r says why).
    bool run_durably(const Operation& op, const Waiter& waiter, WriteResult& r);
    // Makes `next` the machine (refreshing `changes` of the tree) and returns the previous one.
    hotplug::Machine install(hotplug::Machine next, const hotplug::ChangeSet& changes,
                             WriteResult& r);
    void finish(WriteResult& r);
    // What the kernel's caches must drop, to the listeners: of every change, and of the
    // intermediate state of a slow operation (going-offline) while it waits.
    void publish_invalidations(const fsmodel::Invalidations& inval);
    // Sleeps up to `ms` (-1: without limit); true when stop_waiting() was called.
    bool sleep_unattended(int64_t ms);
    // op_, locked; when another operation holds it, tells the waiter first.
    std::unique_lock<std::mutex> lock_operation(const Waiter& waiter);
    int persist(const hotplug::MachineSnapshot& snap, const Waiter& waiter);
    // The listeners' turn: the invalidations, the events (if any), then on_changed.
    void publish(const WriteResult& r);
    // Called with op_ held and data_ free: waits out a pending offline, then completes it or,
    // when interrupted, abandons it (EINTR, block online again) like the kernel's
    // "signal backoff".
    void settle_pending(WriteResult& r, const Waiter& waiter);

    const hotplug::MachineSpec spec_;
    mutable std::mutex op_;           // serialises operations: the kernel's device_hotplug_lock
    mutable std::shared_mutex data_;  // guards machine_ and tree_
    hotplug::Machine machine_;        // guarded by data_ (writes also hold op_)
    fsmodel::Tree tree_;              // guarded by data_
    PersistHook persist_hook_;        // set before serving; called with op_ held
    std::vector<ChangeListener*> listeners_;  // set before serving; called with op_ held
    std::mutex stop_mu_;                      // guards stopping_
    std::condition_variable stop_cv_;
    bool stopping_ = false;
};

int64_t realtime_ns();
int64_t monotonic_us();

}  // namespace hotplugfs
