// A reader process: it reads random attributes (block state, online and valid_zones, the node
// masks, every node's meminfo) while the writers store, and judges every answer well formed.
// A malformed block attribute is classified by the stores to its block that overlapped the read.
#pragma once

#include <cstdint>

#include "findings.h"
#include "shared.h"
#include "tree.h"

namespace stress {

// Reader `r_index` makes `ops` reads. In fast mode (`fast`) a malformed state/online/valid_zones
// is an anomaly, not a violation. `seqs` (shared) are the writers' store counters; `writers`
// tells which writer owns a block.
void run_reader(int r_index, uint64_t ops, uint64_t seed, const Tree& t, Slot& slot,
                const BlockSeq* seqs, int writers, bool fast);

}  // namespace stress
