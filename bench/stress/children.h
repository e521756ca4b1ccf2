// The child processes: forking one so that it can never outlive the tool or hold its stdio,
// waiting for a group of them under a stall and overall watchdog, and turning how each ended
// into `child` findings.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "findings.h"
#include "options.h"

namespace stress {

struct Child {
    pid_t pid = -1;
    bool writer = false;
    int index = 0;
    bool reaped = false;
    int status = 0;
};

// Forks a child that runs `body` and exits: it dies with the parent, keeps none of the parent's
// stdio (a child stuck in the kernel must not hold the caller's pipes open) and reports an
// exception as a `child` violation in `slot`. Returns the pid, or -1 when fork fails.
pid_t spawn(Slot& slot, const std::function<void()>& body);

// Waits for every child. When the children's progress counter stands still for
// --stall-timeout, or --timeout passes (counted from `start`), they are all SIGKILLed; a child
// that still has not ended 10 s later (stuck in an uninterruptible FUSE request) is given up on.
// Returns true when every child ended without being killed.
bool wait_all(std::vector<Child>& children, const std::function<uint64_t()>& progress,
              const Options& o, uint64_t start, Slot& parent_slot);

// A reaped child that was lost, killed, failed or did not reach its end, as a `child` finding
// in `parent_slot`; `name` says which child it was.
void report_exit(const Child& ch, const Slot& slot, const std::string& name, Slot& parent_slot);

}  // namespace stress
