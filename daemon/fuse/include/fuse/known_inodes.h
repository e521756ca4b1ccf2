// KnownInodes: which inodes the kernel currently holds (lookup counts minus forgets), so
// change notifications go only where the kernel can have cached something.
//
// Block-scoped counts live in fixed chunks allocated on first use: memory is bounded by the
// number of blocks, however many lookups and forgets arrive.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace hotplugfs {

class KnownInodes {
public:
    void looked_up(uint64_t ino);
    void forget(uint64_t ino, uint64_t nlookup);
    bool known(uint64_t ino) const;
    // From now on every inode counts as known: the kernel holds inodes nobody counted (a
    // connection taken over from another daemon).
    void assume_all_known() { all_known_ = true; }
    size_t chunk_count() const;

private:
    static constexpr size_t kChunkInodes = 1 << 16;
    static constexpr uint8_t kSticky = 255;  // saturated: never forgotten
    using Chunk = std::array<uint8_t, kChunkInodes>;

    uint8_t* slot(uint64_t ino, bool create) const;

    std::atomic<bool> all_known_{false};
    mutable std::mutex mu_;  // guards chunks_ and the counts inside them
    mutable std::unordered_map<uint64_t, std::unique_ptr<Chunk>> chunks_;
};

}  // namespace hotplugfs
