#include "model/machine_state.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <chrono>

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

MachineState::MachineState(hotplug::MachineSpec spec, hotplug::Machine machine, int64_t boot_ns,
                           fsmodel::ChangingFiles changing)
    : spec_(std::move(spec)),
      machine_(std::move(machine)),
      tree_(fsmodel::sysfs_root(), boot_ns, changing) {}

bool MachineState::sleep_unattended(int64_t ms) {
    std::unique_lock lock(stop_mu_);
    if (ms < 0) {
        stop_cv_.wait(lock, [&] { return stopping_; });
        return true;
    }
    return stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
}

MachineState::Waiter MachineState::unattended(int64_t max_wait_ms) {
    return Waiter{[this, max_wait_ms](int64_t ms) {
        if (max_wait_ms < 0 || (ms >= 0 && ms <= max_wait_ms)) return sleep_unattended(ms);
        sleep_unattended(max_wait_ms);
        return true;  // waited as long as it may: interrupted
    }};
}

void MachineState::stop_waiting() {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
    stop_cv_.notify_all();
}

void MachineState::finish(WriteResult& r) {
    tree_.refresh(machine_, r.outcome.changes, realtime_ns(), r.invalidations);
}

hotplug::MachineSnapshot MachineState::snapshot() const {
    std::shared_lock lock(data_);
    return machine_.snapshot();
}

// An operation that failed without events or changes left the model as it was (the model
// guarantees it), so only the others pay for a snapshot.
void MachineState::persist(const WriteResult& r, const Waiter* waiter) {
    if (r.result < 0 && r.outcome.events.empty() && r.outcome.changes.empty()) return;
    if (persist_hook_ && waiter && waiter->may_block) waiter->may_block();  // disk I/O
    if (persist_hook_) persist_hook_(snapshot());
}

void MachineState::publish(const WriteResult& r) {
    const auto& inval = r.invalidations;
    if (!inval.inodes.empty() || !inval.removed_entries.empty())
        for (ChangeListener* l : listeners_) l->on_invalidations(inval);
    const bool changed = !(r.result < 0 && r.outcome.events.empty() && r.outcome.changes.empty());
    if (!r.outcome.events.empty()) {
        const EventTime when{realtime_ns(), monotonic_us()};
        for (const auto& e : r.outcome.events)
            spdlog::debug("uevent {} {} SEQNUM={}", e.action, e.devpath, e.seqnum);
        for (ChangeListener* l : listeners_) l->on_events(r.outcome.events, when);
    }
    if (changed)
        for (ChangeListener* l : listeners_) l->on_changed();
}

std::unique_lock<std::mutex> MachineState::lock_operation(const Waiter& waiter) {
    std::unique_lock lock(op_, std::try_to_lock);
    if (!lock.owns_lock()) {
        if (waiter.may_block) waiter.may_block();
        lock.lock();
    }
    return lock;
}

void MachineState::publish_pending(const fsmodel::Invalidations& inval,
                                   std::optional<uint64_t> written) {
    if (!inval.inodes.empty() || !inval.removed_entries.empty())
        for (ChangeListener* l : listeners_) l->on_invalidations(inval);
    if (written)
        for (ChangeListener* l : listeners_) l->on_write_pending(*written);
}

void MachineState::settle_pending(WriteResult& r, const Waiter& waiter,
                                  std::optional<uint64_t> written) {
    if (!r.outcome.pending_offline_ms) return;
    if (waiter.may_block) waiter.may_block();
    const int64_t ms = *r.outcome.pending_offline_ms;
    const uint64_t block = r.outcome.pending_block;
    r.outcome.pending_offline_ms.reset();
    publish_pending(r.invalidations, written);  // readers see going-offline while we wait
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

MachineState::WriteResult MachineState::write_file(uint64_t ino, std::string_view data,
                                                   const Waiter& waiter) {
    const auto op = lock_operation(waiter);
    WriteResult r;
    {
        std::unique_lock lock(data_);
        r.result = tree_.write(machine_, ino, data, r.outcome);
        finish(r);
    }
    settle_pending(r, waiter, ino);
    if (r.result > 0) {
        // The writer's bytes may sit in the page cache even when nothing changed.
        std::unique_lock lock(data_);
        tree_.touch(machine_, ino, realtime_ns(), r.invalidations);
    }
    persist(r, &waiter);
    publish(r);
    return r;
}

MachineState::WriteResult MachineState::restore(hotplug::MachineSnapshot snap) {
    std::lock_guard op(op_);
    WriteResult r;
    snap.seqnum = std::max(snap.seqnum, machine_.last_seqnum());  // op_ held: no new ones
    auto next = hotplug::Machine::restore(spec_, snap);
    if (!next) {
        r.outcome.error = next.error();
        r.result = -r.outcome.error.code;
        return r;
    }
    {
        std::unique_lock lock(data_);
        r.outcome.changes = next.value().changes_since(machine_);
        machine_ = std::move(next.value());
        finish(r);
    }
    persist(r);
    publish(r);
    return r;
}

std::optional<uint64_t> MachineState::resolve(std::string_view path) const {
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

MachineState::WriteResult MachineState::apply(
    const std::function<hotplug::Outcome(hotplug::Machine&)>& op, const Waiter& waiter) {
    const auto lock_op = lock_operation(waiter);
    WriteResult r;
    {
        std::unique_lock lock(data_);
        r.outcome = op(machine_);
        r.result = r.outcome.ok() ? 0 : -r.outcome.error.code;
        finish(r);
    }
    settle_pending(r, waiter);
    persist(r, &waiter);
    publish(r);
    return r;
}

}  // namespace hotplugfs
