// The memory the parent maps before it forks, shared by every process: the owners' expected
// states, which the final check compares with, the per-block store counters readers use to tell
// whether a store overlapped their read, and the Slots that hold everything found.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "findings.h"

namespace stress {

// One per block, shared: a writer bumps a counter when it starts a store to `state` or `online`
// (odd: in progress) and again when the store's close() returned (even). Readers compare the
// counters before their open() and after their close() to tell whether a store overlapped.
struct BlockSeq {
    std::atomic<uint64_t> state;
    std::atomic<uint64_t> online;
    std::atomic<uint32_t> action;    // index into actions() of the latest store started
    std::atomic<uint64_t> ended_ns;  // when the latest store's close() returned (now_ns)
};

// The stores a BlockSeq counter saw between two loads: the one under way at the first load (odd)
// plus every store started since (each start makes the counter odd).
inline uint64_t stores_between(uint64_t before, uint64_t after) {
    return (before & 1) + (after + 1) / 2 - (before + 1) / 2;
}

// The expected state per owned block, a BlockSeq per block read (owned and watched), then one
// Slot per child, one for the parent's own findings and one for the final check.
struct Shared {
    void* mem = MAP_FAILED;
    size_t total = 0;
    uint8_t* expected = nullptr;
    BlockSeq* seqs = nullptr;
    Slot* slots = nullptr;

    Shared() = default;
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;
    ~Shared() {
        if (mem != MAP_FAILED) munmap(mem, total);
    }
    bool map(size_t nblocks, size_t nall, size_t nslots);
};

}  // namespace stress
