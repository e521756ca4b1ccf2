// The quiescent check once every writer and reader has ended: every owned block must read what
// its owner last expected, online must agree with state, and every valid_zones, node mask and
// meminfo must be well formed.
#pragma once

#include <cstdint>

#include "findings.h"
#include "options.h"
#include "tree.h"

namespace stress {

// `expected` holds a BlockState per owned block; findings go to `slot`, whose ops count the
// files checked (the progress the stall watchdog sees).
void final_check(const Options& o, const Tree& t, const uint8_t* expected, Slot& slot);

}  // namespace stress
