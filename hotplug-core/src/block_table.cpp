#include "hotplug/block_table.h"

namespace hotplug {

Block& BlockTable::ensure(uint64_t id) {
    if (id >= table_.size()) table_.resize(id + 1);
    return table_[id];
}

void BlockTable::remove(uint64_t id) {
    if (!present(id)) return;
    table_[id] = Block{};
    --count_;
    while (!table_.empty() && !table_.back().present) table_.pop_back();
}

std::optional<uint64_t> BlockTable::next_present(uint64_t from) const {
    for (uint64_t id = from; id < table_.size(); ++id)
        if (table_[id].present) return id;
    return std::nullopt;
}

}  // namespace hotplug
