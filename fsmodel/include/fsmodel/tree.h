// Tree: the sysfs tree instantiated from its declaration, with the generic sysfs system-call
// semantics implemented once for every file: lookup, attributes, listing, show and store.
//
// Not thread-safe: callers hold the machine's read lock for queries and its write lock for
// write() and refresh().
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fsmodel/entry.h"
#include "fsmodel/inode.h"
#include "fsmodel/stamps.h"

namespace fsmodel {

struct Stat {
    uint64_t ino = 0;
    uint32_t mode = 0;  // with S_IF* type bits
    uint32_t nlink = 1;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
};

// What changed in the tree's views after a model change, for cache refresh.
struct Invalidations {
    std::vector<uint64_t> inodes;  // content or attributes changed
    struct Entry {
        uint64_t parent;
        std::string name;
        uint64_t ino;
    };
    std::vector<Entry> removed_entries;  // names that no longer exist
};

// What stat() says of a file whose bytes can change (a store, or a dependency on the model).
enum class ChangingFiles : uint8_t {
    // Its content length and the time of its last change: a page cache of its bytes (the fast
    // mode) is kept right by the attributes, so every change invalidates them.
    CachedContent,
    // 4096 and the boot time, as sysfs says: every read of such a file reaches the daemon
    // (the exact mode's direct I/O), so nothing about it is cached and a change of its bytes
    // invalidates nothing.
    LikeSysfs,
};

class Tree {
public:
    explicit Tree(const DirSpec& root, int64_t boot_ns,
                  ChangingFiles changing = ChangingFiles::CachedContent);

    static constexpr size_t kPageSize = 4096;  // a store sees at most one page

    int lookup(const Machine& m, uint64_t parent, std::string_view name, Stat& out) const;
    // Whether `name`, absent from directory `parent` now, could exist there later without the
    // directory itself going away: a generated name (memory<N>, a device), a node link, or a
    // file shown only by configuration. Other names never appear, so their absence may be cached.
    bool may_appear(uint64_t parent, std::string_view name) const;
    int getattr(const Machine& m, uint64_t ino, Stat& out) const;
    int readlink(const Machine& m, uint64_t ino, std::string& out) const;
    int read(const Machine& m, uint64_t ino, std::string& out) const;
    // Calls fill(name, ino, mode, next_offset) until it returns false. Offsets are opaque.
    using Filler = std::function<bool(std::string_view, uint64_t, uint32_t, uint64_t)>;
    // Returns 0 or an errno; `complete` tells whether the listing's end was reached.
    int readdir(const Machine& m, uint64_t ino, uint64_t offset, const Filler& fill,
                bool* complete = nullptr) const;
    // Path of an inode relative to the root ("/devices/system/memory"), if it exists.
    std::optional<std::string> path_of(const Machine& m, uint64_t ino) const;

    // Permission checks the kernel's kernfs_fop_open makes, for the open() path.
    int check_open(const Machine& m, uint64_t ino, bool read, bool write) const;
    // Truncation: allowed on writable attributes (and ignored), EACCES otherwise.
    int check_truncate(const Machine& m, uint64_t ino) const;
    // Whether a file's bytes can change (a store, or a dependency on model state): such files
    // need a per-open snapshot when the kernel's page cache is not trusted with them.
    bool is_volatile(const Machine& m, uint64_t ino) const;
    // One write() = one store. Returns bytes consumed or -errno; `outcome` gets the events.
    long write(Machine& m, uint64_t ino, std::string_view data, Outcome& outcome) const;

    // After a model change: refresh mtimes and list what readers must re-fetch.
    void refresh(const Machine& m, const hotplug::ChangeSet& changes, int64_t now_ns,
                 Invalidations& out);
    // A successful write may leave the writer's bytes in the page cache: mark it changed.
    void touch(const Machine& m, uint64_t ino, int64_t now_ns, Invalidations& out);

    size_t slot_count(Scope scope) const { return by_slot_[static_cast<int>(scope)].size(); }

private:
    struct Def {
        const EntrySpec* spec = nullptr;
        Scope scope = Scope::Global;
        uint16_t slot = 0;
        int parent = -1;
        std::vector<int> children;
    };
    struct Resolved {
        const Def* def = nullptr;
        Ctx ctx;
    };

    int instantiate(const EntrySpec* spec, Scope scope, int parent,
                    std::vector<uint8_t>& generation);
    void assign_slots(const std::vector<uint8_t>& generation);
    bool resolve(const Machine& m, uint64_t ino, Resolved& out) const;
    uint64_t inode_of(const Def& def, const Ctx& ctx) const;
    uint64_t parent_inode(const Resolved& r) const;
    bool visible(const Machine& m, const Def& def, const Ctx& ctx) const;
    std::string name_of(const Machine& m, const Def& def, const Ctx& ctx) const;
    void fill_stat(const Machine& m, const Resolved& r, Stat& out) const;
    uint32_t dir_nlink(const Machine& m, const Resolved& r) const;
    bool fill_generated(const Machine& m, const Def& generated, const Ctx& parent,
                        uint64_t base, uint64_t offset, const Filler& fill) const;
    bool match_generated(const Machine& m, const Def& child, const Ctx& parent,
                         std::string_view name, Ctx& out) const;
    void add_dep(Scope scope, uint64_t object, Dep dep, Invalidations& out) const;
    void add_removed(const hotplug::RemovedBlock& b, Invalidations& out) const;
    void add_tiers(const Machine& m, Invalidations& out) const;
    void add_device_list(const Machine& m, const std::vector<std::string>& before,
                         Invalidations& out) const;

    // A file whose bytes can change: it has a store or depends on the model.
    static bool changes(const EntrySpec& s) {
        return s.kind == Kind::Attr && (s.store || s.dep != Dep::Static);
    }

    ChangingFiles changing_;
    EntrySpec root_spec_;
    std::vector<Def> defs_;
    std::vector<int> by_slot_[kScopeCount];
    Stamps stamps_;
};

}  // namespace fsmodel
