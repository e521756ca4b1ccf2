// MachineState: the one Machine and its Tree, with the two locks that make the model safe
// to share between FUSE threads, the control plane and event delivery.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "fsmodel/tree.h"
#include "hotplug/machine.h"
#include "model/change_listener.h"

namespace hotplugfs {

class MachineState {
public:
    using PersistHook = std::function<void(const hotplug::MachineSnapshot&)>;

    // `changing`: what stat() says of files that can change (the exact mode: like sysfs).
    MachineState(hotplug::Machine machine, int64_t boot_ns,
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
    // How an operation that takes time (a slow offline) reaches its caller: `publish` makes
    // the intermediate state (going-offline) visible; `wait` sleeps up to `ms` (-1: without
    // limit) and returns true when the caller was interrupted by a signal.
    // `may_block` (optional) is called before the operation may block: waiting for another
    // operation, for a slow offline, or for the persist hook's disk.
    struct Waiter {
        std::function<void(const fsmodel::Invalidations&)> publish;
        std::function<bool(int64_t ms)> wait;
        std::function<void()> may_block = {};
    };

    // One write() to a file: the store, then what the kernel's caches must drop.
    WriteResult write_file(uint64_t ino, std::string_view data, const Waiter& waiter);
    // A model operation from the control plane.
    WriteResult apply(const std::function<hotplug::Outcome(hotplug::Machine&)>& op,
                      const Waiter& waiter);

    // Swaps in another machine of the same configuration (a loaded state). What is refreshed
    // is what the model finds different (Machine::changes_since), devices included. No
    // uevents, like a restore.
    WriteResult replace(hotplug::Machine next);

    // The inode at `path` ("devices/system/memory/memory6/state", relative to the root, no
    // symlinks followed), or nullopt when it does not exist.
    std::optional<uint64_t> resolve(std::string_view path) const;

    // Before serving: `listener` is told of every change from now on (ChangeListener).
    void subscribe(ChangeListener& listener) { listeners_.push_back(&listener); }
    // Called after every operation that may have changed the model, with op_ held (so the
    // next operation waits for it) and before the event hook (so no SEQNUM is ever seen that
    // a restart could reuse). The snapshot is taken under the data lock.
    void set_persist_hook(PersistHook hook) { persist_hook_ = std::move(hook); }
    hotplug::MachineSnapshot snapshot() const;
    std::mutex& operation_lock() { return op_; }

private:
    void finish(WriteResult& r);
    // op_, locked; when another operation holds it, tells the waiter first.
    std::unique_lock<std::mutex> lock_operation(const Waiter& waiter);
    void persist(const WriteResult& r, const Waiter* waiter = nullptr);
    // The listeners' turn: the invalidations, the events (if any), then on_changed.
    void publish(const WriteResult& r);
    // Called with op_ held and data_ free: waits out a pending offline, then completes it or,
    // when interrupted, abandons it (EINTR, block online again) like the kernel's
    // "signal backoff".
    void settle_pending(WriteResult& r, const Waiter& waiter);

    mutable std::mutex op_;           // serialises operations: the kernel's device_hotplug_lock
    mutable std::shared_mutex data_;  // guards machine_ and tree_
    hotplug::Machine machine_;        // guarded by data_ (writes also hold op_)
    fsmodel::Tree tree_;              // guarded by data_
    PersistHook persist_hook_;                // set before serving; called with op_ held
    std::vector<ChangeListener*> listeners_;  // set before serving; called with op_ held
};

int64_t realtime_ns();
int64_t monotonic_us();

}  // namespace hotplugfs
