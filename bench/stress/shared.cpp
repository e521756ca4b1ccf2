// Mapping the shared memory (shared.h).
#include "shared.h"

#include <new>

namespace stress {

bool Shared::map(size_t nblocks, size_t nall, size_t nslots) {
    auto align_up = [](size_t n, size_t a) { return (n + a - 1) / a * a; };
    const size_t seq_off = align_up(nblocks, alignof(BlockSeq));
    const size_t slot_off = align_up(seq_off + sizeof(BlockSeq) * nall, alignof(Slot));
    total = slot_off + sizeof(Slot) * nslots;
    mem = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return false;
    expected = static_cast<uint8_t*>(mem);
    seqs = reinterpret_cast<BlockSeq*>(static_cast<char*>(mem) + seq_off);
    for (size_t b = 0; b < nall; ++b) new (&seqs[b]) BlockSeq();
    slots = reinterpret_cast<Slot*>(static_cast<char*>(mem) + slot_off);
    for (size_t c = 0; c < nslots; ++c) new (&slots[c]) Slot();
    return true;
}

}  // namespace stress
