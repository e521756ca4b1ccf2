#include "model/live_machine.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace hotplugfs {

int64_t monotonic_us() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

LiveMachine::LiveMachine(hotplug::MachineSpec spec, hotplug::Machine machine, int64_t boot_ns,
                         fsmodel::ChangingFiles changing)
    : spec_(std::move(spec)),
      machine_(std::move(machine)),
      tree_(fsmodel::sysfs_root(), boot_ns, changing) {}

bool LiveMachine::sleep_unattended(int64_t ms) {
    std::unique_lock lock(stop_mu_);
    if (ms < 0) {
        stop_cv_.wait(lock, [&] { return stopping_; });
        return true;
    }
    return stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
}

LiveMachine::Waiter LiveMachine::unattended(int64_t max_wait_ms) {
    return Waiter{[this, max_wait_ms](int64_t ms) {
        if (max_wait_ms < 0 || (ms >= 0 && ms <= max_wait_ms)) return sleep_unattended(ms);
        sleep_unattended(max_wait_ms);
        return true;  // waited as long as it may: interrupted
    }};
}

void LiveMachine::stop_waiting() {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
    stop_cv_.notify_all();
}

void LiveMachine::finish(WriteResult& r) {
    tree_.refresh(machine_, r.outcome.changes, realtime_ns(), r.invalidations);
}

hotplug::MachineSnapshot LiveMachine::snapshot() const {
    std::shared_lock lock(data_);
    return machine_.snapshot();
}

namespace {

// An operation that failed without events or changes left the model as it was (the model
// guarantees it): nothing to persist or to tell.
bool changed(const LiveMachine::WriteResult& r) {
    return !(r.result < 0 && r.outcome.events.empty() && r.outcome.changes.empty());
}

}  // namespace

hotplug::Machine LiveMachine::install(hotplug::Machine next, const hotplug::ChangeSet& changes,
                                      WriteResult& r) {
    std::unique_lock lock(data_);
    hotplug::Machine previous = std::exchange(machine_, std::move(next));
    tree_.refresh(machine_, changes, realtime_ns(), r.invalidations);
    return previous;
}

int LiveMachine::persist(const hotplug::MachineSnapshot& snap, const Waiter& waiter) {
    if (waiter.may_block) waiter.may_block();  // disk I/O
    return persist_hook_(snap);
}

void LiveMachine::publish(const WriteResult& r) {
    publish_invalidations(r.invalidations);
    if (!r.outcome.events.empty()) {
        const EventTime when{realtime_ns(), monotonic_us()};
        for (const auto& e : r.outcome.events)
            spdlog::debug("uevent {} {} SEQNUM={}", e.action, e.devpath, e.seqnum);
        for (ChangeListener* l : listeners_) l->on_events(r.outcome.events, when);
    }
    if (changed(r))
        for (ChangeListener* l : listeners_) l->on_changed();
}

std::unique_lock<std::mutex> LiveMachine::lock_operation(const Waiter& waiter) {
    std::unique_lock lock(op_, std::try_to_lock);
    if (!lock.owns_lock()) {
        if (waiter.may_block) waiter.may_block();
        lock.lock();
    }
    return lock;
}

void LiveMachine::publish_invalidations(const fsmodel::Invalidations& inval) {
    if (!inval.inodes.empty() || !inval.removed_entries.empty())
        for (ChangeListener* l : listeners_) l->on_invalidations(inval);
}

void LiveMachine::settle_pending(WriteResult& r, const Waiter& waiter) {
    if (!r.outcome.pending_offline_ms) return;
    if (waiter.may_block) waiter.may_block();
    // A migration of more than ten years is one that never ends: a waiter's deadline that far
    // from now would overflow the clock's arithmetic (a configuration may say INT64_MAX ms).
    constexpr int64_t kForeverMs = 10LL * 366 * 24 * 3600 * 1000;
    const int64_t asked = *r.outcome.pending_offline_ms;
    const int64_t ms = asked > kForeverMs ? -1 : asked;
    const uint64_t block = r.outcome.pending_block;
    r.outcome.pending_offline_ms.reset();
    publish_invalidations(r.invalidations);  // readers see going-offline while we wait
    r.invalidations = {};
    const bool interrupted = waiter.wait(ms);
    std::unique_lock lock(data_);
    hotplug::Outcome done =
        interrupted ? machine_.abort_offline(block) : machine_.finish_offline(block);
    for (auto& e : done.events) r.outcome.events.push_back(std::move(e));
    tree_.refresh(machine_, done.changes, realtime_ns(), r.invalidations);
    if (interrupted) {
        r.outcome.error = hotplug::make_error(EINTR, "signal backoff");
        r.result = -EINTR;
    } else if (!done.ok()) {
        r.outcome.error = done.error;
        r.result = -done.error.code;
    }
}

LiveMachine::WriteResult LiveMachine::run(const Operation& op, const Waiter& waiter,
                                          std::optional<uint64_t> written) {
    const auto lock_op = lock_operation(waiter);
    WriteResult r;
    if (!persist_hook_) {  // nothing to make durable: the change happens in place
        {
            std::unique_lock lock(data_);
            r.result = op(machine_, r.outcome);
            finish(r);
        }
        settle_pending(r, waiter);
    } else if (!run_durably(op, waiter, r)) {
        publish(r);  // what the kernel's caches must drop of a change that was undone
        return r;
    }
    if (written && r.result > 0) {
        // The kernel grows a file's cached size to what was written: even when nothing
        // changed, its readers must revalidate (the page-cache mode).
        std::unique_lock lock(data_);
        tree_.touch(machine_, *written, realtime_ns(), r.invalidations);
    }
    publish(r);
    return r;
}

// The operation runs on a copy, which becomes the machine only once its state is on disk: a
// change that cannot be persisted never shows and publishes nothing, and no SEQNUM is ever
// handed out that a restart could hand out again. Only a slow offline shows its intermediate
// state (going-offline) while it waits, as the kernel does; when its end cannot be persisted,
// the block goes back to where it was, as when the offline is interrupted.
bool LiveMachine::run_durably(const Operation& op, const Waiter& waiter, WriteResult& r) {
    hotplug::Machine next = machine_;  // op_ held: nobody else changes machine_
    r.result = op(next, r.outcome);
    std::optional<hotplug::Machine> before;
    if (r.outcome.pending_offline_ms) {
        before = install(std::move(next), r.outcome.changes, r);
        settle_pending(r, waiter);
    }
    if (changed(r)) {
        const hotplug::MachineSnapshot snap = before ? snapshot() : next.snapshot();
        if (const int err = persist(snap, waiter)) {
            if (before) {
                const hotplug::ChangeSet back = before->changes_since(machine_);
                install(std::move(*before), back, r);
            }
            r.outcome = {};
            r.outcome.error = hotplug::make_error(err, "the new state could not be persisted");
            r.result = -err;
            return false;
        }
    }
    if (!before && changed(r)) install(std::move(next), r.outcome.changes, r);
    return true;
}

LiveMachine::WriteResult LiveMachine::write_file(uint64_t ino, std::string_view data,
                                                 const Waiter& waiter) {
    return run(
        [&](hotplug::Machine& m, hotplug::Outcome& o) { return tree_.write(m, ino, data, o); },
        waiter, ino);
}

LiveMachine::WriteResult LiveMachine::apply(
    const std::function<hotplug::Outcome(hotplug::Machine&)>& op, const Waiter& waiter) {
    return run(
        [&](hotplug::Machine& m, hotplug::Outcome& o) -> long {
            o = op(m);
            return o.ok() ? 0 : -o.error.code;
        },
        waiter);
}

LiveMachine::WriteResult LiveMachine::restore(hotplug::MachineSnapshot snap) {
    return run(
        [&](hotplug::Machine& m, hotplug::Outcome& o) -> long {
            snap.seqnum = std::max(snap.seqnum, m.last_seqnum());  // op_ held: no new ones
            auto next = hotplug::Machine::restore(spec_, snap);
            if (!next) {
                o.error = next.error();
                return -o.error.code;
            }
            o.changes = next.value().changes_since(m);
            m = std::move(next.value());
            return 0;
        },
        Waiter{});
}

std::optional<uint64_t> LiveMachine::resolve(std::string_view path) const {
    std::shared_lock lock(data_);
    uint64_t ino = 1;  // the root
    while (!path.empty()) {
        const size_t slash = path.find('/');
        const std::string_view name = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
        if (name.empty()) continue;
        fsmodel::Stat st;
        if (tree_.lookup(machine_, ino, name, st) != 0) return std::nullopt;
        ino = st.ino;
    }
    return ino;
}

}  // namespace hotplugfs
