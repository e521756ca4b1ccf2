// Fault injection and hardware poisoning: the notifier-error-inject module (spec §8),
// per-block offline behaviour (migration delay, unmovable pages) and hwpoison (spec §9).
#include <string>

#include "hotplug/machine.h"

namespace hotplug {

int Machine::notifier_error(NotifierAction action) const {
    return notifier_errors_[static_cast<int>(action)];
}

// The debugfs errno attribute takes 0 or -MAX_ERRNO..-1.
Outcome Machine::set_notifier_error(NotifierAction action, int error) {
    Outcome out;
    if (error > 0 || error < -4095) {
        out.error = make_error(EINVAL, "notifier error must be 0 or -4095..-1");
        return out;
    }
    notifier_errors_[static_cast<int>(action)] = error;
    out.changes.params = true;  // a global setting file changed
    return out;
}

// Only stored: the model has no other memory notifiers to order against.
Outcome Machine::set_notifier_priority(int priority) {
    notifier_priority_ = priority;
    Outcome out;
    out.changes.params = true;
    return out;
}

BlockFault Machine::block_fault(uint64_t block) const {
    auto it = faults_.find(block);
    return it == faults_.end() ? BlockFault{} : it->second;
}

Outcome Machine::set_block_fault(uint64_t block, BlockFault fault, bool unmovable) {
    Outcome out;
    if (!blocks_.present(block)) {
        out.error = make_error(ENODEV, "no memory block " + std::to_string(block));
        return out;
    }
    if (fault.migration_ms < -1) {
        out.error = make_error(EINVAL, "migration delay must be -1 (forever) or >= 0 ms");
        return out;
    }
    blocks_.at(block).unmovable = unmovable ? 1 : 0;
    BlockFault& f = faults_[block];
    f.migration_ms = fault.migration_ms;
    if (f.migration_ms == 0 && f.poisoned_pages == 0) faults_.erase(block);  // stay sparse
    // Nothing a reader sees changes until the next offline attempt.
    return out;
}

// The hwpoison files exist only with memory-failure support; the API says so otherwise.
bool Machine::memory_failure_enabled(Outcome& out) const {
    if (params_.memory_failure) return true;
    out.error = make_error(EOPNOTSUPP, "memory failure handling is not enabled");
    return false;
}

// soft_offline_page: the page's content migrates away and the page is marked poisoned
// (the kernel's page_handle_poison), so it counts toward the block's poison as well.
Outcome Machine::soft_offline_page(uint64_t addr) {
    Outcome out;
    if (!memory_failure_enabled(out)) return out;
    const uint64_t block = addr / block_size_, pfn = addr >> kPageShift;
    if (!blocks_.present(block)) {  // !pfn_valid
        out.error = make_error(ENXIO, "no memory at that address");
        return out;
    }
    if (!blocks_.at(block).online()) {  // !pfn_to_online_page
        out.error = make_error(EIO, "page is not online");
        return out;
    }
    // An already poisoned page: nothing to do, and success.
    if (!poisoned_pfns_.insert(pfn).second) return out;
    ++faults_[block].poisoned_pages;
    ++soft_offlined_;
    return out;
}

// memory_failure: only online pages are under the kernel's control.
Outcome Machine::hard_offline_page(uint64_t addr) {
    Outcome out;
    if (!memory_failure_enabled(out)) return out;
    const uint64_t block = addr / block_size_, pfn = addr >> kPageShift;
    if (!blocks_.present(block) || !blocks_.at(block).online()) {
        out.error = make_error(ENXIO, "memory outside kernel control");
        return out;
    }
    // TestSetPageHWPoison: a page is poisoned once; again fails EHWPOISON.
    if (!poisoned_pfns_.insert(pfn).second) {
        out.error = make_error(EHWPOISON, "page already hardware poisoned");
        return out;
    }
    ++faults_[block].poisoned_pages;
    return out;
}

}  // namespace hotplug
