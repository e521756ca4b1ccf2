// The summary printed at the end: what ran, then every kind of finding with its count, its
// earliest examples, how reader findings overlapped stores, and the distinct contents seen.
// bench/run.sh and the integration tests parse its lines ("mode:", "ops: N of M done",
// "violations: N", "  KIND: N", "concurrent-write anomalies (...): N", "watched: ...").
#pragma once

#include <cstddef>
#include <cstdint>

#include "findings.h"
#include "options.h"
#include "tree.h"

namespace stress {

// Prints the summary of `nchildren` children's slots and the two after them (the parent's
// findings and the final check's); the children ran from `t0` to `t1`. Returns the violation
// count (anomalies are not violations).
uint64_t print_summary(const Options& o, const Tree& tree, const Slot* slots, size_t nchildren,
                       uint64_t t0, uint64_t t1);

}  // namespace stress
