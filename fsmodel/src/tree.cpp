// Tree structure: instantiation, identity, lookup, attributes and listings.
#include "fsmodel/tree.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <vector>

namespace fsmodel {
namespace {

constexpr uint64_t kFirstStaticOffset = 3;  // 1 ".", 2 "..", then static children
// The generated entries of a directory's g-th generating child (a directory may generate
// several kinds: nodeK has cpuN and memoryN links) start at (g + 1) * kGeneratedOffset.
constexpr uint64_t kGeneratedOffset = 1ull << 48;

Scope scope_for(Each each, Scope parent) {
    switch (each) {
        case Each::None: return parent;
        case Each::Block:
        case Each::NodeBlock: return Scope::Block;
        case Each::Node: return Scope::Node;
        case Each::Device: return Scope::Device;
        case Each::Cpu:
        case Each::NodeCpu: return Scope::Cpu;
        case Each::Tier: return Scope::Tier;
    }
    return parent;
}

// "memory12" -> 12; the kernel prints ids with %u, so no sign, padding or leading zeros.
bool parse_id(std::string_view name, std::string_view prefix, uint64_t& id) {
    if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return false;
    const std::string_view digits = name.substr(prefix.size());
    if (digits.size() > 1 && digits[0] == '0') return false;
    if (digits.size() > 19) return false;
    uint64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    id = v;
    return true;
}

bool tier_exists(const Machine& m, uint64_t id) {
    const auto tiers = m.memory_tiers();
    return id <= INT32_MAX && std::binary_search(tiers.begin(), tiers.end(), static_cast<int>(id));
}

uint32_t type_bits(Kind kind) {
    switch (kind) {
        case Kind::Dir: return S_IFDIR;
        case Kind::Attr: return S_IFREG;
        case Kind::Link: return S_IFLNK;
    }
    return S_IFREG;
}

}  // namespace

Tree::Tree(const DirSpec& root, int64_t boot_ns, ChangingFiles changing)
    : changing_(changing), stamps_(boot_ns) {
    root_spec_ = dir("", &root);
    std::vector<uint8_t> generation;
    instantiate(&root_spec_, Scope::Global, -1, generation);
    assign_slots(generation);
}

int Tree::instantiate(const EntrySpec* spec, Scope parent_scope, int parent,
                      std::vector<uint8_t>& generation) {
    const Scope scope = scope_for(spec->each, parent_scope);
    const int index = static_cast<int>(defs_.size());
    defs_.push_back(Def{spec, scope, 0, parent, {}});
    generation.push_back(parent >= 0 ? std::max(generation[parent], spec->since) : spec->since);
    if (parent >= 0) defs_[parent].children.push_back(index);
    if (spec->kind == Kind::Dir)
        for (const EntrySpec& child : spec->dir->entries)
            instantiate(&child, scope, index, generation);
    return index;
}

// Within a scope, slots follow the declaration (depth first), one generation after another.
void Tree::assign_slots(const std::vector<uint8_t>& generation) {
    for (int s = 0; s < kScopeCount; ++s) {
        const auto scope = static_cast<Scope>(s);
        auto& slots = by_slot_[s];
        for (size_t i = 0; i < defs_.size(); ++i)
            if (defs_[i].scope == scope) slots.push_back(static_cast<int>(i));
        std::stable_sort(slots.begin(), slots.end(),
                         [&](int a, int b) { return generation[a] < generation[b]; });
        const uint64_t limit = scope == Scope::Block    ? kBlockStride
                               : scope == Scope::Node   ? kNodeStride
                               : scope == Scope::Device ? kDeviceStride
                               : scope == Scope::Cpu    ? kCpuStride
                               : scope == Scope::Tier   ? kTierStride
                                                        : kNodeBase - 1;
        if (slots.size() > limit) throw std::logic_error("too many entries in one scope");
        for (size_t slot = 0; slot < slots.size(); ++slot)
            defs_[slots[slot]].slot = static_cast<uint16_t>(slot);
    }
}

uint64_t Tree::inode_of(const Def& def, const Ctx& ctx) const {
    switch (def.scope) {
        case Scope::Global: return encode_inode(Scope::Global, 0, def.slot);
        case Scope::Node: return encode_inode(Scope::Node, ctx.node, def.slot);
        case Scope::Block: return encode_inode(Scope::Block, ctx.block, def.slot);
        case Scope::Device: return encode_inode(Scope::Device, ctx.device, def.slot);
        case Scope::Cpu: return encode_inode(Scope::Cpu, static_cast<uint64_t>(ctx.cpu), def.slot);
        case Scope::Tier:
            return encode_inode(Scope::Tier, static_cast<uint64_t>(ctx.tier), def.slot);
    }
    return 0;
}

uint64_t Tree::parent_inode(const Resolved& r) const {
    if (r.def->parent < 0) return inode_of(*r.def, r.ctx);
    return inode_of(defs_[r.def->parent], r.ctx);
}

bool Tree::visible(const Machine& m, const Def& def, const Ctx& ctx) const {
    return !def.spec->visible || def.spec->visible(m, handler_ctx(*def.spec, ctx));
}

std::string Tree::name_of(const Machine& m, const Def& def, const Ctx& ctx) const {
    const EntrySpec& s = *def.spec;
    if (s.dynamic_name) return s.dynamic_name(m, ctx);
    switch (s.each) {
        case Each::None: return std::string(s.name);
        case Each::Block:
        case Each::NodeBlock: return std::string(s.name) + std::to_string(ctx.block);
        case Each::Node: return std::string(s.name) + std::to_string(ctx.node);
        case Each::Device: return m.devices()[ctx.device].spec.name;
        case Each::Cpu:
        case Each::NodeCpu: return std::string(s.name) + std::to_string(ctx.cpu);
        case Each::Tier: return std::string(s.name) + std::to_string(ctx.tier);
    }
    return std::string(s.name);
}

bool Tree::resolve(const Machine& m, uint64_t ino, Resolved& out) const {
    const InodeId id = decode_inode(ino);
    const auto& slots = by_slot_[static_cast<int>(id.scope)];
    if (id.slot >= slots.size()) return false;
    out.def = &defs_[slots[id.slot]];
    out.ctx = Ctx{};
    if (id.scope == Scope::Block) {
        if (!m.blocks().present(id.object)) return false;
        out.ctx.block = id.object;
        out.ctx.node = m.blocks().at(id.object).node;
    } else if (id.scope == Scope::Node) {
        if (!m.node(static_cast<int>(id.object))) return false;
        out.ctx.node = static_cast<int>(id.object);
    } else if (id.scope == Scope::Device) {
        if (id.object >= m.devices().size()) return false;
        out.ctx.device = static_cast<uint32_t>(id.object);
        out.ctx.node = m.devices()[id.object].spec.node;
    } else if (id.scope == Scope::Cpu) {
        if (id.object >= static_cast<uint64_t>(m.nr_cpu_ids())) return false;
        out.ctx.cpu = static_cast<int>(id.object);
        out.ctx.node = m.cpu_node(out.ctx.cpu);
        if (out.ctx.node < 0) return false;
    } else if (id.scope == Scope::Tier) {
        if (!tier_exists(m, id.object)) return false;
        out.ctx.tier = static_cast<int>(id.object);
    }
    return visible(m, *out.def, out.ctx);
}

bool Tree::match_generated(const Machine& m, const Def& child, const Ctx& parent,
                           std::string_view name, Ctx& out) const {
    out = parent;
    if (child.spec->each == Each::Device) {
        for (uint32_t i = 0; i < m.devices().size(); ++i) {
            if (m.devices()[i].spec.name != name) continue;
            out.device = i;
            out.node = m.devices()[i].spec.node;
            return true;
        }
        return false;
    }
    uint64_t id = 0;
    if (!parse_id(name, child.spec->name, id)) return false;
    out = parent;
    switch (child.spec->each) {
        case Each::None:
        case Each::Device: return false;
        case Each::Block:
        case Each::NodeBlock:
            if (!m.blocks().present(id)) return false;
            if (child.spec->each == Each::NodeBlock && m.blocks().at(id).node != parent.node)
                return false;
            out.block = id;
            out.node = m.blocks().at(id).node;
            return true;
        case Each::Node:
            if (id > 0xffff || !m.node(static_cast<int>(id))) return false;
            out.node = static_cast<int>(id);
            return true;
        case Each::Cpu:
        case Each::NodeCpu: {
            if (id >= static_cast<uint64_t>(m.nr_cpu_ids())) return false;
            const int node = m.cpu_node(static_cast<int>(id));
            if (node < 0 || (child.spec->each == Each::NodeCpu && node != parent.node))
                return false;
            out.cpu = static_cast<int>(id);
            out.node = node;
            return true;
        }
        case Each::Tier:
            if (!tier_exists(m, id)) return false;
            out.tier = static_cast<int>(id);
            return true;
    }
    return false;
}

int Tree::lookup(const Machine& m, uint64_t parent, std::string_view name, Stat& out) const {
    Resolved dir;
    if (!resolve(m, parent, dir)) return ENOENT;
    if (dir.def->spec->kind != Kind::Dir) return ENOTDIR;
    for (int index : dir.def->children) {
        const Def& child = defs_[index];
        Resolved r{&child, dir.ctx};
        if (child.spec->each != Each::None) {
            if (!match_generated(m, child, dir.ctx, name, r.ctx)) continue;
        } else if (name_of(m, child, dir.ctx) != name) {
            continue;
        }
        if (!visible(m, child, r.ctx)) continue;
        fill_stat(m, r, out);
        return 0;
    }
    return ENOENT;
}

bool Tree::may_appear(uint64_t parent, std::string_view name) const {
    const InodeId id = decode_inode(parent);
    // A device's inodes pass to the next device when an earlier one is unplugged.
    if (id.scope == Scope::Device) return true;
    const auto& slots = by_slot_[static_cast<int>(id.scope)];
    if (id.slot >= slots.size()) return true;
    const Def& dir = defs_[slots[id.slot]];
    if (dir.spec->kind != Kind::Dir) return true;
    for (int index : dir.children) {
        const EntrySpec& child = *defs_[index].spec;
        if (child.each == Each::Device) return true;  // device names are free-form
        const bool prefix = name.starts_with(child.name);
        if ((child.each != Each::None || child.dynamic_name) && prefix) return true;
        if (child.name == name) return true;  // shown now or only sometimes (is_visible)
    }
    return false;
}

int Tree::getattr(const Machine& m, uint64_t ino, Stat& out) const {
    Resolved r;
    if (!resolve(m, ino, r)) return ENOENT;
    fill_stat(m, r, out);
    return 0;
}

uint32_t Tree::dir_nlink(const Machine& m, const Resolved& r) const {
    uint32_t n = 2;
    for (int index : r.def->children) {
        const Def& child = defs_[index];
        if (child.spec->kind != Kind::Dir) continue;
        switch (child.spec->each) {
            case Each::None: n += visible(m, child, r.ctx) ? 1 : 0; break;
            case Each::Block: n += static_cast<uint32_t>(m.blocks().count()); break;
            case Each::Node: n += static_cast<uint32_t>(m.nodes().size()); break;
            case Each::Device: n += static_cast<uint32_t>(m.devices().size()); break;
            case Each::Cpu:
                for (int cpu = 0; cpu < m.nr_cpu_ids(); ++cpu) n += m.cpu_node(cpu) >= 0 ? 1 : 0;
                break;
            case Each::Tier: n += static_cast<uint32_t>(m.memory_tiers().size()); break;
            case Each::NodeBlock:
            case Each::NodeCpu: break;  // links only
        }
    }
    return n;
}

void Tree::fill_stat(const Machine& m, const Resolved& r, Stat& out) const {
    const EntrySpec& s = *r.def->spec;
    out.ino = inode_of(*r.def, r.ctx);
    out.mode = type_bits(s.kind) | s.mode;
    out.nlink = s.kind == Kind::Dir ? dir_nlink(m, r) : 1;
    out.size = 0;
    const Dep dep = s.kind == Kind::Dir ? s.dir->listing : s.dep;
    out.mtime_ns = stamps_.get(dep, r.def->scope, r.ctx);
    if (s.kind != Kind::Attr) return;
    out.size = kPageSize;
    if (changing_ == ChangingFiles::LikeSysfs && changes(s)) {
        out.mtime_ns = stamps_.boot();
        return;
    }
    // The size is the length of what a read returns now: the kernel's page cache trusts it.
    std::string text;
    if (s.show && s.show(m, handler_ctx(s, r.ctx), text) == 0) out.size = text.size();
}

int Tree::readlink(const Machine& m, uint64_t ino, std::string& out) const {
    Resolved r;
    if (!resolve(m, ino, r)) return ENOENT;
    if (r.def->spec->kind != Kind::Link) return EINVAL;
    out = r.def->spec->link(m, r.ctx);
    return 0;
}

int Tree::readdir(const Machine& m, uint64_t ino, uint64_t offset, const Filler& fill,
                  bool* complete) const {
    Resolved dir;
    if (!resolve(m, ino, dir)) return ENOENT;
    if (dir.def->spec->kind != Kind::Dir) return ENOTDIR;
    if (complete) *complete = false;
    if (offset < 1 && !fill(".", ino, S_IFDIR, 1)) return 0;
    if (offset < 2 && !fill("..", parent_inode(dir), S_IFDIR, 2)) return 0;
    const auto& children = dir.def->children;
    std::vector<const Def*> generated;
    for (size_t i = 0; i < children.size(); ++i) {
        const Def& child = defs_[children[i]];
        if (child.spec->each != Each::None) {
            generated.push_back(&child);
            continue;
        }
        const uint64_t off = kFirstStaticOffset + i;
        if (offset >= off || !visible(m, child, dir.ctx)) continue;
        if (!fill(name_of(m, child, dir.ctx), inode_of(child, dir.ctx),
                  type_bits(child.spec->kind), off))
            return 0;
    }
    for (size_t g = 0; g < generated.size(); ++g) {
        const uint64_t base = kGeneratedOffset * (g + 1);
        if (offset >= base + kGeneratedOffset) continue;  // listed in an earlier call
        if (!fill_generated(m, *generated[g], dir.ctx, base, offset, fill)) return 0;
    }
    if (complete) *complete = true;
    return 0;
}

bool Tree::fill_generated(const Machine& m, const Def& generated, const Ctx& parent,
                          uint64_t base, uint64_t offset, const Filler& fill) const {
    const uint64_t first = offset >= base ? offset - base : 0;
    const uint32_t type = type_bits(generated.spec->kind);
    auto emit = [&](const Ctx& ctx, uint64_t id) {
        return fill(name_of(m, generated, ctx), inode_of(generated, ctx), type, base + id + 1);
    };
    if (generated.spec->each == Each::Node) {
        for (uint64_t id = first; id < m.nodes().size(); ++id)
            if (!emit(Ctx{static_cast<int>(id), 0, 0}, id)) return false;
        return true;
    }
    if (generated.spec->each == Each::Device) {
        for (uint64_t id = first; id < m.devices().size(); ++id) {
            const Ctx ctx{m.devices()[id].spec.node, 0, static_cast<uint32_t>(id)};
            if (!emit(ctx, id)) return false;
        }
        return true;
    }
    if (generated.spec->each == Each::Cpu || generated.spec->each == Each::NodeCpu) {
        for (uint64_t id = first; id < static_cast<uint64_t>(m.nr_cpu_ids()); ++id) {
            const int node = m.cpu_node(static_cast<int>(id));
            if (node < 0 || (generated.spec->each == Each::NodeCpu && node != parent.node))
                continue;
            if (!emit(Ctx{node, 0, 0, static_cast<int>(id)}, id)) return false;
        }
        return true;
    }
    if (generated.spec->each == Each::Tier) {
        for (int tier : m.memory_tiers()) {
            if (static_cast<uint64_t>(tier) < first) continue;
            Ctx ctx;
            ctx.tier = tier;
            if (!emit(ctx, static_cast<uint64_t>(tier))) return false;
        }
        return true;
    }
    for (auto id = m.blocks().next_present(first); id; id = m.blocks().next_present(*id + 1)) {
        const int node = m.blocks().at(*id).node;
        if (generated.spec->each == Each::NodeBlock && node != parent.node) continue;
        if (!emit(Ctx{node, *id, 0}, *id)) return false;
    }
    return true;
}

std::optional<std::string> Tree::path_of(const Machine& m, uint64_t ino) const {
    Resolved r;
    if (!resolve(m, ino, r)) return std::nullopt;
    std::vector<std::string> names;
    for (const Def* def = r.def; def->parent >= 0; def = &defs_[def->parent])
        names.push_back(name_of(m, *def, r.ctx));
    if (names.empty()) return "/";
    std::string path;
    for (auto it = names.rbegin(); it != names.rend(); ++it) path.append("/").append(*it);
    return path;
}

}  // namespace fsmodel
