#include "fsmodel/stamps.h"

namespace fsmodel {
namespace {

void grow_and_set(std::vector<int64_t>& v, uint64_t index, int64_t stamp) {
    if (index >= v.size()) v.resize(index + 1, 0);
    v[index] = stamp;
}

int64_t value_or(const std::vector<int64_t>& v, uint64_t index, int64_t fallback) {
    return index < v.size() && v[index] ? v[index] : fallback;
}

}  // namespace

int64_t Stamps::get(Dep dep, Scope scope, const Ctx& ctx) const {
    switch (dep) {
        case Dep::Static: break;
        case Dep::BlockState:
        case Dep::ValidZones: return block(ctx.block);
        case Dep::NodeMeminfo: return value_or(nodes_, ctx.node, boot_);
        case Dep::NodeBlockList: return value_or(node_lists_, ctx.node, boot_);
        case Dep::NodeMasks:
        case Dep::Params:
        case Dep::BlockList:
        case Dep::DeviceList:
            return global_[static_cast<size_t>(dep)];
    }
    // Static files still change mtime when written (their page cache holds the writer's
    // bytes): writable files share the stamp of their object.
    if (scope == Scope::Block) return block(ctx.block);
    if (scope == Scope::Node) return value_or(nodes_, ctx.node, boot_);
    return global_[0];
}

int64_t Stamps::next(int64_t now_ns) {
    last_ = now_ns > last_ ? now_ns : last_ + 1;
    return last_;
}

void Stamps::set_block(uint64_t block, int64_t stamp) { grow_and_set(blocks_, block, stamp); }
void Stamps::set_node(int node, int64_t stamp) { grow_and_set(nodes_, node, stamp); }
void Stamps::set_node_list(int node, int64_t stamp) { grow_and_set(node_lists_, node, stamp); }
void Stamps::set_global(Dep dep, int64_t stamp) { global_[static_cast<size_t>(dep)] = stamp; }

}  // namespace fsmodel
