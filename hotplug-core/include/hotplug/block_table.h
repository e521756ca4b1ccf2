// BlockTable: compact per-block state, indexed densely by block id.
//
// Four bytes per possible block id keep a million blocks in a few MiB; everything else a
// block shows (files, links, zone names) is derived from these fields on demand.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hotplug/types.h"

namespace hotplug {

struct Block {
    static constexpr uint8_t kNoZone = 0xf;    // offline
    static constexpr uint8_t kMultiZone = 0xe;  // managed by several zones ("none")

    uint8_t present : 1 = 0;
    uint8_t state : 2 = 0;  // BlockState
    uint8_t zone : 4 = kNoZone;
    uint8_t holes : 1 = 0;
    uint8_t unmovable : 1 = 0;
    uint8_t hotplugged : 1 = 0;
    uint8_t memmap : 1 = 0;  // carries its own memmap (added with memmap_on_memory)
    uint8_t spare : 5 = 0;
    uint16_t node = 0;

    BlockState block_state() const { return static_cast<BlockState>(state); }
    bool online() const { return block_state() != BlockState::Offline; }
    bool multi_zone() const { return zone == kMultiZone; }
    std::optional<Zone> single_zone() const {
        if (zone >= kZoneCount) return std::nullopt;
        return static_cast<Zone>(zone);
    }
};
static_assert(sizeof(Block) == 4, "a block must stay four bytes");

class BlockTable {
public:
    bool present(uint64_t id) const { return id < table_.size() && table_[id].present; }
    const Block& at(uint64_t id) const { return table_[id]; }
    Block& at(uint64_t id) { return table_[id]; }
    // Makes room for ids up to `id` (inclusive); new slots are absent.
    Block& ensure(uint64_t id);
    void remove(uint64_t id);
    uint64_t count() const { return count_; }
    void note_added() { ++count_; }
    // First present id >= from, or nullopt.
    std::optional<uint64_t> next_present(uint64_t from) const;
    uint64_t capacity() const { return table_.size(); }

private:
    std::vector<Block> table_;
    uint64_t count_ = 0;
};

}  // namespace hotplug
