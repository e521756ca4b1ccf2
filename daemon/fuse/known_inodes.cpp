#include "fuse/known_inodes.h"

namespace hotplugfs {

uint8_t* KnownInodes::slot(uint64_t ino, bool create) const {
    const uint64_t chunk = ino / kChunkInodes;
    auto it = chunks_.find(chunk);
    if (it == chunks_.end()) {
        if (!create) return nullptr;
        auto fresh = std::make_unique<Chunk>();
        fresh->fill(0);
        it = chunks_.emplace(chunk, std::move(fresh)).first;
    }
    return &(*it->second)[ino % kChunkInodes];
}

void KnownInodes::looked_up(uint64_t ino) {
    std::lock_guard lock(mu_);
    uint8_t* count = slot(ino, true);
    if (*count < kSticky) ++*count;
}

void KnownInodes::forget(uint64_t ino, uint64_t nlookup) {
    std::lock_guard lock(mu_);
    uint8_t* count = slot(ino, false);
    if (!count || *count == kSticky) return;
    *count = nlookup >= *count ? 0 : static_cast<uint8_t>(*count - nlookup);
}

bool KnownInodes::known(uint64_t ino) const {
    if (all_known_.load(std::memory_order_relaxed)) return true;
    std::lock_guard lock(mu_);
    const uint8_t* count = slot(ino, false);
    return count && *count > 0;
}

size_t KnownInodes::chunk_count() const {
    std::lock_guard lock(mu_);
    return chunks_.size();
}

}  // namespace hotplugfs
