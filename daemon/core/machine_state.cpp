#include "core/machine_state.h"

#include <time.h>

namespace hotplugfs {

int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

MachineState::MachineState(hotplug::Machine machine, int64_t boot_ns)
    : machine_(std::move(machine)), tree_(fsmodel::sysfs_root(), boot_ns) {}

void MachineState::finish(WriteResult& r) {
    tree_.refresh(machine_, r.outcome.changes, realtime_ns(), r.invalidations);
}

MachineState::WriteResult MachineState::write_file(uint64_t ino, std::string_view data) {
    std::lock_guard op(op_);
    WriteResult r;
    {
        std::unique_lock lock(data_);
        r.result = tree_.write(machine_, ino, data, r.outcome);
        finish(r);
        // The writer's bytes may sit in the page cache even when nothing changed.
        if (r.result > 0) tree_.touch(machine_, ino, realtime_ns(), r.invalidations);
    }
    if (event_hook_ && !r.outcome.events.empty()) event_hook_(r.outcome.events);
    return r;
}

MachineState::WriteResult MachineState::apply(
    const std::function<hotplug::Outcome(hotplug::Machine&)>& op) {
    std::lock_guard lock_op(op_);
    WriteResult r;
    {
        std::unique_lock lock(data_);
        r.outcome = op(machine_);
        r.result = r.outcome.ok() ? 0 : -r.outcome.error.code;
        finish(r);
    }
    if (event_hook_ && !r.outcome.events.empty()) event_hook_(r.outcome.events);
    return r;
}

}  // namespace hotplugfs
