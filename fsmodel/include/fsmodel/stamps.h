// Stamps: the modification times the tree reports, one per thing that can change.
// A changed mtime is what makes the kernel drop cached pages of a file (auto_inval_data).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "fsmodel/entry.h"

namespace fsmodel {

class Stamps {
public:
    explicit Stamps(int64_t boot_ns) : boot_(boot_ns), last_(boot_ns) { global_.fill(boot_ns); }

    int64_t get(Dep dep, Scope scope, const Ctx& ctx) const;
    int64_t boot() const { return boot_; }
    // Strictly increasing: two changes in the same nanosecond still differ.
    int64_t next(int64_t now_ns);
    void set_block(uint64_t block, int64_t stamp);
    void set_node(int node, int64_t stamp);
    void set_node_list(int node, int64_t stamp);
    void set_global(Dep dep, int64_t stamp);
    int64_t block(uint64_t block) const {
        return block < blocks_.size() && blocks_[block] ? blocks_[block] : boot_;
    }

private:
    int64_t boot_;
    int64_t last_;  // starts at boot: the first change is already newer than boot
    std::vector<int64_t> blocks_;      // per block: state, online, valid_zones, uevent
    std::vector<int64_t> nodes_;       // per node: meminfo and node-scoped writes
    std::vector<int64_t> node_lists_;  // per node: its memoryN links
    std::array<int64_t, 9> global_{};  // per Dep for global things
};

}  // namespace fsmodel
