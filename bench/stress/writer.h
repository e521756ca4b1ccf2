// A writer process: it owns every `writers`-th block, stores to their `state` and `online` as
// echo/printf would, checks each result against the prediction (spec §4) and reads its own
// change back right after every successful store.
#pragma once

#include <cstdint>

#include "findings.h"
#include "shared.h"
#include "tree.h"

namespace stress {

// Writer `w` of `writers` makes `ops` stores. `expected` (shared with the parent) holds the
// expected state of every block in range; this writer updates only the entries of the blocks it
// owns. `seqs` (shared) tells readers when a store to a block is under way.
void run_writer(int w, int writers, uint64_t ops, uint64_t seed, const Tree& t, Slot& slot,
                uint8_t* expected, BlockSeq* seqs);

}  // namespace stress
