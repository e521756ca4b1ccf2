// Tree I/O: show, store and the kernel's generic sysfs rules around them, plus the mapping
// from model changes to the files whose bytes or listings changed.
#include <algorithm>
#include <cerrno>

#include "fsmodel/text.h"
#include "fsmodel/tree.h"

namespace fsmodel {

int Tree::read(const Machine& m, uint64_t ino, std::string& out) const {
    Resolved r;
    if (!resolve(m, ino, r)) return ENOENT;
    const EntrySpec& s = *r.def->spec;
    if (s.kind == Kind::Dir) return EISDIR;
    if (s.kind != Kind::Attr || !s.show) return EACCES;  // kernfs: no show, no read
    out.clear();
    return s.show(m, handler_ctx(s, r.ctx), out);
}

int Tree::check_open(const Machine& m, uint64_t ino, bool read, bool write) const {
    Resolved r;
    if (!resolve(m, ino, r)) return ENOENT;
    const EntrySpec& s = *r.def->spec;
    if (s.kind != Kind::Attr) return 0;
    // kernfs_fop_open refuses these even for root, whatever the mode bits say.
    if ((read && !s.show) || (write && !s.store)) return EACCES;
    return 0;
}

bool Tree::is_volatile(const Machine& m, uint64_t ino) const {
    Resolved r;
    if (!resolve(m, ino, r)) return false;
    return changes(*r.def->spec);
}

int Tree::check_truncate(const Machine& m, uint64_t ino) const {
    return check_open(m, ino, false, true);
}

long Tree::write(Machine& m, uint64_t ino, std::string_view data, Outcome& outcome) const {
    Resolved r;
    if (!resolve(m, ino, r)) return -ENOENT;
    const EntrySpec& s = *r.def->spec;
    if (s.kind == Kind::Dir) return -EISDIR;
    if (s.kind != Kind::Attr || !s.store) return -EACCES;
    if (data.empty()) return 0;
    // kernfs hands a store at most one page, NUL-terminated; the rest is written again.
    const std::string_view page = data.substr(0, kPageSize);
    outcome = s.store(m, handler_ctx(s, r.ctx), as_c_string(page));
    if (!outcome.ok()) return -outcome.error.code;
    return static_cast<long>(page.size());
}

void Tree::add_dep(Scope scope, uint64_t object, Dep dep, Invalidations& out) const {
    for (int index : by_slot_[static_cast<int>(scope)]) {
        const Def& def = defs_[index];
        const Dep d = def.spec->kind == Kind::Dir ? def.spec->dir->listing : def.spec->dep;
        if (d != dep) continue;
        // A changing file of the exact mode has nothing cached about it.
        if (changing_ == ChangingFiles::LikeSysfs && changes(*def.spec)) continue;
        out.inodes.push_back(encode_inode(scope, object, def.slot));
    }
}

void Tree::add_removed(const hotplug::RemovedBlock& b, Invalidations& out) const {
    for (int index : by_slot_[static_cast<int>(Scope::Block)]) {
        const Def& def = defs_[index];
        const uint64_t ino = encode_inode(Scope::Block, b.id, def.slot);
        out.inodes.push_back(ino);
        if (def.spec->each == Each::None) continue;
        // A generated name vanishes from its parent directory.
        const Def& parent = defs_[def.parent];
        const Ctx ctx{b.node, b.id, 0};
        out.removed_entries.push_back({inode_of(parent, ctx),
                                       std::string(def.spec->name) + std::to_string(b.id), ino});
    }
}

void Tree::refresh(const Machine& m, const hotplug::ChangeSet& c, int64_t now_ns,
                   Invalidations& out) {
    if (c.empty()) return;
    const int64_t stamp = stamps_.next(now_ns);
    // Only files whose bytes may differ are invalidated: every extra invalidation can make
    // the kernel discard a concurrent reader's fresh attributes (it drops GETATTR replies that
    // race with an invalidation) and serve that reader its old page once more.
    auto block_changed = [&](uint64_t id) {
        stamps_.set_block(id, stamp);
        add_dep(Scope::Block, id, Dep::BlockState, out);
        add_dep(Scope::Block, id, Dep::ValidZones, out);
    };
    for (uint64_t id : c.blocks) block_changed(id);
    for (uint64_t id : c.added) block_changed(id);
    auto offline_in = [&](uint64_t first, uint64_t last) {
        for (auto id = m.blocks().next_present(first); id && *id <= last;
             id = m.blocks().next_present(*id + 1)) {
            if (m.blocks().at(*id).online()) continue;
            stamps_.set_block(*id, stamp);
            add_dep(Scope::Block, *id, Dep::ValidZones, out);
        }
    };
    if (c.all_valid_zones) offline_in(0, UINT64_MAX);
    for (const auto& [first, last] : c.valid_zones) offline_in(first, last);
    for (int node : c.nodes) {
        stamps_.set_node(node, stamp);
        add_dep(Scope::Node, node, Dep::NodeMeminfo, out);
    }
    if (c.node_masks) {
        stamps_.set_global(Dep::NodeMasks, stamp);
        add_dep(Scope::Global, 0, Dep::NodeMasks, out);
        add_tiers(m, out);
    }
    if (c.params) {
        stamps_.set_global(Dep::Params, stamp);
        add_dep(Scope::Global, 0, Dep::Params, out);
    }
    if (!c.added.empty() || !c.removed.empty()) {
        stamps_.set_global(Dep::BlockList, stamp);
        add_dep(Scope::Global, 0, Dep::BlockList, out);
        auto node_list = [&](int node) {
            stamps_.set_node_list(node, stamp);
            add_dep(Scope::Node, node, Dep::NodeBlockList, out);
        };
        for (uint64_t id : c.added) node_list(m.blocks().at(id).node);
        for (const auto& b : c.removed) node_list(b.node);
    }
    for (const auto& b : c.removed) add_removed(b, out);
    if (c.devices) {
        stamps_.set_global(Dep::DeviceList, stamp);
        stamps_.set_global(Dep::BlockList, stamp);  // `plugged` of devices that moved
        add_dep(Scope::Global, 0, Dep::DeviceList, out);
        add_device_list(m, c.devices_before, out);
    }
}

// A tier's nodes change with the node masks, and a tier without nodes vanishes from the
// directories that list tiers. Tier ids come from the nodes' abstract distances, so the
// tiers that may have changed are the nodes' tiers.
void Tree::add_tiers(const Machine& m, Invalidations& out) const {
    const auto now = m.memory_tiers();
    for (int tier : m.possible_memory_tiers()) {
        add_dep(Scope::Tier, static_cast<uint64_t>(tier), Dep::NodeMasks, out);
        if (std::binary_search(now.begin(), now.end(), tier)) continue;
        Ctx ctx;
        ctx.tier = tier;
        for (int index : by_slot_[static_cast<int>(Scope::Tier)]) {
            const Def& def = defs_[index];
            out.inodes.push_back(inode_of(def, ctx));
            if (def.spec->each != Each::Tier) continue;
            out.removed_entries.push_back({inode_of(defs_[def.parent], ctx),
                                           std::string(def.spec->name) + std::to_string(tier),
                                           inode_of(def, ctx)});
        }
    }
}

// Devices are named by index: every index whose device changed has new files, and the old
// name there (if any) vanishes from the devices directory.
void Tree::add_device_list(const Machine& m, const std::vector<std::string>& before,
                           Invalidations& out) const {
    const auto& now = m.devices();
    for (size_t i = 0; i < std::max(now.size(), before.size()); ++i) {
        if (i < now.size() && i < before.size() && now[i].spec.name == before[i]) continue;
        for (int index : by_slot_[static_cast<int>(Scope::Device)]) {
            const Def& def = defs_[index];
            const uint64_t ino = encode_inode(Scope::Device, i, def.slot);
            out.inodes.push_back(ino);
            if (def.spec->each != Each::Device || i >= before.size()) continue;
            out.removed_entries.push_back({inode_of(defs_[def.parent], Ctx{}), before[i], ino});
        }
    }
}

void Tree::touch(const Machine& m, uint64_t ino, int64_t now_ns, Invalidations& out) {
    Resolved r;
    if (!resolve(m, ino, r)) return;
    // Written without the page cache, read with direct I/O: nothing to drop.
    if (changing_ == ChangingFiles::LikeSysfs && changes(*r.def->spec)) return;
    const int64_t stamp = stamps_.next(now_ns);
    const Dep dep = r.def->spec->dep;
    switch (r.def->scope) {
        case Scope::Block: stamps_.set_block(r.ctx.block, stamp); break;
        case Scope::Node: stamps_.set_node(r.ctx.node, stamp); break;
        case Scope::Global:
        case Scope::Device:
        case Scope::Cpu:
        case Scope::Tier: stamps_.set_global(dep, stamp); break;
    }
    out.inodes.push_back(ino);
}

}  // namespace fsmodel
