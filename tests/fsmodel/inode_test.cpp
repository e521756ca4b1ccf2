// Inode identity: stable, decodable, unique across the whole tree.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "fsmodel_support.h"

using namespace fstest;
using fsmodel::decode_inode;
using fsmodel::encode_inode;
using fsmodel::Scope;

TEST_CASE("inode: encode/decode round-trip", "[inode]") {
    struct Row {
        Scope scope;
        uint64_t object;
        uint16_t slot;
    };
    const Row rows[] = {
        {Scope::Global, 0, 0},
        {Scope::Global, 0, 1},
        {Scope::Global, 0, 1000},
        {Scope::Node, 0, 0},
        {Scope::Node, 1, 17},
        {Scope::Node, 0xffff, fsmodel::kNodeStride - 1},
        {Scope::Block, 0, 0},
        {Scope::Block, 5, 3},
        {Scope::Block, 199, fsmodel::kBlockStride - 1},
        {Scope::Block, 1ull << 30, 7},
    };
    std::set<uint64_t> seen;
    for (const auto& r : rows) {
        INFO("scope " << int(r.scope) << " object " << r.object << " slot " << r.slot);
        const uint64_t ino = encode_inode(r.scope, r.object, r.slot);
        CHECK(ino != 0);  // 0 is not a valid inode number for FUSE
        CHECK(seen.insert(ino).second);
        const auto id = decode_inode(ino);
        CHECK(id.scope == r.scope);
        CHECK(id.object == (r.scope == Scope::Global ? 0 : r.object));
        CHECK(id.slot == r.slot);
    }
    CHECK(kRoot == 1);  // FUSE_ROOT_ID
}

TEST_CASE("inode: every file of the tree has its own number", "[inode]") {
    for (const auto& spec : {full_spec(), reference_spec()}) {
        auto m = build(spec);
        fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
        const auto all = walk(t, m);
        REQUIRE(all.size() > 1000);
        std::map<uint64_t, std::string> owner{{kRoot, ""}};
        for (const auto& [path, st] : all) {
            INFO(path << " ino " << st.ino);
            const auto [it, fresh] = owner.emplace(st.ino, path);
            if (!fresh) FAIL_CHECK("collides with " << it->second);
            const auto id = decode_inode(st.ino);
            CHECK(encode_inode(id.scope, id.object, id.slot) == st.ino);
            fsmodel::Stat again;
            REQUIRE(t.getattr(m, st.ino, again) == 0);
            CHECK(again.ino == st.ino);
            CHECK(again.mode == st.mode);
        }
        // The slots of each scope fit their stride.
        CHECK(t.slot_count(Scope::Block) <= fsmodel::kBlockStride);
        CHECK(t.slot_count(Scope::Node) <= fsmodel::kNodeStride);
    }
}

TEST_CASE("inode: the same path always yields the same number", "[inode]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    std::map<std::string, uint64_t> before;
    for (const auto& [path, st] : walk(t, m)) before[path] = st.ino;

    // Another Tree over the same layout, after unrelated changes and a full round of
    // add/remove: every surviving path keeps its number.
    REQUIRE(write_path(t, m, "devices/system/memory/probe", "0x440000000") == 11);
    REQUIRE(write_path(t, m, "devices/system/memory/memory72/state", "online") == 6);
    REQUIRE(m.remove_memory(0x440000000, kBlock).ok());
    REQUIRE(write_path(t, m, "devices/system/memory/probe", "0x440000000") == 11);
    fsmodel::Tree fresh(fsmodel::sysfs_root(), kBoot + 1);
    std::map<std::string, uint64_t> after;
    for (const auto& [path, st] : walk(fresh, m)) after[path] = st.ino;
    for (const auto& [path, ino] : after) {
        INFO(path);
        if (before.count(path)) CHECK(before.at(path) == ino);
        CHECK(ino_of(t, m, path) == ino);
    }
    // The re-added block has the same numbers as any block 136 would.
    CHECK(after.at("devices/system/memory/memory136/state") ==
          encode_inode(Scope::Block, 136,
                       fsmodel::decode_inode(before.at("devices/system/memory/memory72/state"))
                           .slot));
    CHECK(after.size() == before.size() + 18);  // memory136: dir + 15 below, 2 links
}

TEST_CASE("inode: files the layout had before keep their numbers when it grows", "[inode]") {
    // Numbers of the built-in machine's tree before devices/system/cpu and bus/cpu were added:
    // later layout generations take slots after these, so none of them moves.
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::pair<const char*, uint64_t> before[] = {
        {"bus", 2},
        {"bus/memory/uevent", 8},
        {"bus/node", 9},
        {"devices/system/memory", 17},
        {"devices/system/node/has_cpu", 32},
        {"kernel/debug/hotplugfs/devices", 48},
        {"module/memory_hotplug/parameters/online_policy", 63},
        {"devices/system/node/node1", 16777473},
        {"devices/system/node/node1/meminfo", 16777487},
        {"devices/system/memory/memory40/state", 1099511629069},
        // Added with the CPUs, before the memory tiers.
        {"bus/cpu", 65},
        {"devices/system/cpu", 71},
        {"devices/system/cpu/cpu1/online", 4294967363},
    };
    for (const auto& [path, ino] : before) {
        INFO(path);
        CHECK(ino_of(t, m, path) == ino);
    }
}
