// The sysfs tree described as data, the way kernfs describes it: directories, attributes
// (name, mode, show, store) and links. A file is one EntrySpec row.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hotplug/machine.h"
#include "hotplug/param_table.h"

namespace fsmodel {

// Which object an entry belongs to; inode numbers derive from (scope, object id, slot).
enum class Scope : uint8_t { Global = 0, Node = 1, Block = 2, Device = 3, Cpu = 4, Tier = 5 };
inline constexpr int kScopeCount = 6;

// Object identity of an entry instance.
struct Ctx {
    int node = 0;
    uint64_t block = 0;
    uint32_t device = 0;  // index into Machine::devices()
    int cpu = 0;
    int tier = 0;  // a memory tier's id (memory_tierN)
    // The parameter a module-parameter file shows and stores (its entry's `param`), so one
    // pair of handlers serves every row of hotplug::param_table().
    const hotplug::ParamSpec* param = nullptr;
};

enum class Kind : uint8_t { Dir, Attr, Link };

// What a file's bytes (or a directory's listing) depend on, for mtime and cache refresh.
enum class Dep : uint8_t {
    Static,         // never changes
    BlockState,     // state and online of the entry's block
    ValidZones,     // valid_zones of the entry's block (also moves with zone spans and policy)
    NodeMeminfo,    // meminfo of the entry's node
    NodeMasks,      // has_memory, has_normal_memory, and so the memory tiers
    Params,         // module parameters and auto_online_blocks
    BlockList,      // listing of every block (memory/, bus/memory/devices/)
    NodeBlockList,  // listing of one node's blocks (nodeK/)
    DeviceList      // the memory devices: their listing and each one's fixed attributes
};

// Which objects a generated entry stands for: one instance per object.
enum class Each : uint8_t { None, Block, NodeBlock, Node, Device, Cpu, NodeCpu, Tier };

using Machine = hotplug::Machine;
using Outcome = hotplug::Outcome;
// Render the file; returns 0 or a positive errno (EIO for files the kernel fails to show).
using ShowFn = int (*)(const Machine&, const Ctx&, std::string& out);
// Apply a write; `text` is already a C string of at most one page.
using StoreFn = Outcome (*)(Machine&, const Ctx&, std::string_view text);
using LinkFn = std::string (*)(const Machine&, const Ctx&);
using NameFn = std::string (*)(const Machine&, const Ctx&);
using VisibleFn = bool (*)(const Machine&, const Ctx&);

struct DirSpec;

struct EntrySpec {
    Kind kind = Kind::Attr;
    std::string_view name;       // static name, or the prefix of generated names ("memory")
    uint16_t mode = 0444;
    ShowFn show = nullptr;
    StoreFn store = nullptr;
    Dep dep = Dep::Static;
    LinkFn link = nullptr;
    const DirSpec* dir = nullptr;
    Each each = Each::None;      // generated: one instance per block / node
    NameFn dynamic_name = nullptr;  // name that depends on the object (a block's node link)
    VisibleFn visible = nullptr;    // is_visible: absent when it returns false
    const hotplug::ParamSpec* param = nullptr;  // a module-parameter file: its row
    // The layout generation that added the entry (inherited by what it holds): slots, and so
    // inode numbers, go to every earlier generation first, so adding files to the layout
    // never renumbers the files that were there before.
    uint8_t since = 0;
};

// The entry's context as its handlers see it: the object's, plus the entry's parameter row.
inline Ctx handler_ctx(const EntrySpec& spec, Ctx ctx) {
    ctx.param = spec.param;
    return ctx;
}

struct DirSpec {
    std::vector<EntrySpec> entries;
    Dep listing = Dep::Static;
};

// Helpers that make one declaration read like the kernel's DEVICE_ATTR_* lines.
inline EntrySpec attr_ro(std::string_view name, ShowFn show, Dep dep = Dep::Static) {
    return EntrySpec{Kind::Attr, name, 0444, show, nullptr, dep};
}
inline EntrySpec attr_rw(std::string_view name, ShowFn show, StoreFn store, Dep dep) {
    return EntrySpec{Kind::Attr, name, 0644, show, store, dep};
}
inline EntrySpec attr_wo(std::string_view name, StoreFn store, uint16_t mode = 0200) {
    return EntrySpec{Kind::Attr, name, mode, nullptr, store, Dep::Static};
}
inline EntrySpec dir(std::string_view name, const DirSpec* spec) {
    EntrySpec e{Kind::Dir, name, 0755};
    e.dir = spec;
    return e;
}
inline EntrySpec link(std::string_view name, LinkFn target) {
    EntrySpec e{Kind::Link, name, 0777};
    e.link = target;
    return e;
}
inline EntrySpec when(EntrySpec e, VisibleFn visible) {
    e.visible = visible;
    return e;
}
inline EntrySpec since(uint8_t generation, EntrySpec e) {
    e.since = generation;
    return e;
}

// The whole tree of spec §2, rooted at the sysfs root.
const DirSpec& sysfs_root();

}  // namespace fsmodel
