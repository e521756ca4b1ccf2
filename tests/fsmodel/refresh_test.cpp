// Tree::refresh and Tree::touch: which inodes and names a model change invalidates, and the
// mtimes that tell the kernel's page cache to drop stale bytes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "fsmodel_support.h"

using namespace fstest;

namespace {

bool has(const fsmodel::Invalidations& inv, uint64_t ino) {
    return std::find(inv.inodes.begin(), inv.inodes.end(), ino) != inv.inodes.end();
}

bool has_removed(const fsmodel::Invalidations& inv, uint64_t parent, const std::string& name,
                 uint64_t ino) {
    for (const auto& e : inv.removed_entries)
        if (e.parent == parent && e.name == name && e.ino == ino) return true;
    return false;
}

int64_t mtime(const fsmodel::Tree& t, const hotplug::Machine& m, const std::string& path) {
    return stat_of(t, m, path).mtime_ns;
}

// Two nodes; node 1 has only hot-added offline memory, so onlining it changes the masks.
hotplug::MachineSpec masks_spec() {
    hotplug::MachineSpec spec;
    spec.block_size = kBlock;
    spec.nodes = {hotplug::NodeSpec{0, {0}, {}, 0}, hotplug::NodeSpec{1, {1}, {}, 0}};
    spec.memory = {
        hotplug::MemoryRangeSpec{0, 3 * GiB, 0, true, false, {}},
        hotplug::MemoryRangeSpec{4 * GiB, 1 * GiB, 1, false, true, {}},
    };
    return spec;
}

const std::string kMem = "devices/system/memory/";

}  // namespace

TEST_CASE("refresh: online and offline through Tree::write", "[refresh]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string b = kMem + "memory72/";
    const uint64_t state = ino_of(t, m, b + "state");
    const uint64_t online = ino_of(t, m, b + "online");
    const uint64_t zones = ino_of(t, m, b + "valid_zones");
    const uint64_t meminfo = ino_of(t, m, "devices/system/node/node0/meminfo");
    const uint64_t meminfo1 = ino_of(t, m, "devices/system/node/node1/meminfo");
    const uint64_t phys_index = ino_of(t, m, b + "phys_index");
    const uint64_t memdir = ino_of(t, m, "devices/system/memory");

    // Nothing changed yet: every mtime is the boot time.
    CHECK(mtime(t, m, b + "state") == kBoot);
    CHECK(mtime(t, m, "devices/system/node/node0/meminfo") == kBoot);

    hotplug::Outcome out;
    REQUIRE(write_path(t, m, b + "state", "online", &out) == 6);
    fsmodel::Invalidations inv;
    // The same nanosecond as boot: the stamp must still be newer.
    t.refresh(m, out.changes, kBoot, inv);
    CHECK(has(inv, state));
    CHECK(has(inv, online));
    CHECK(has(inv, zones));
    CHECK(has(inv, meminfo));
    CHECK_FALSE(has(inv, meminfo1));
    CHECK_FALSE(has(inv, phys_index));
    CHECK_FALSE(has(inv, memdir));  // the listing did not change
    CHECK(inv.removed_entries.empty());
    const int64_t t1 = mtime(t, m, b + "state");
    CHECK(t1 > kBoot);
    CHECK(mtime(t, m, b + "online") == t1);
    CHECK(mtime(t, m, b + "valid_zones") == t1);
    CHECK(mtime(t, m, "devices/system/node/node0/meminfo") == t1);
    CHECK(mtime(t, m, "devices/system/node/node1/meminfo") == kBoot);

    // Offline again, with a clock that went backwards: still strictly increasing.
    out = {};
    REQUIRE(write_path(t, m, b + "online", "0\n", &out) == 2);
    inv = {};
    t.refresh(m, out.changes, kBoot - 5, inv);
    CHECK(has(inv, state));
    CHECK(has(inv, online));
    CHECK(has(inv, zones));
    CHECK(has(inv, meminfo));
    const int64_t t2 = mtime(t, m, b + "state");
    CHECK(t2 > t1);
    CHECK(mtime(t, m, "devices/system/node/node0/meminfo") == t2);

    // An empty change set refreshes nothing and moves no mtime.
    inv = {};
    t.refresh(m, hotplug::ChangeSet{}, kBoot + 1000, inv);
    CHECK(inv.inodes.empty());
    CHECK(mtime(t, m, b + "state") == t2);

    // A failed store changes nothing.
    out = {};
    REQUIRE(write_path(t, m, b + "state", "offline", &out) == -EINVAL);
    CHECK(out.changes.empty());
}

TEST_CASE("refresh: node masks change when a node gains or loses its memory", "[refresh]") {
    auto m = build(masks_spec());
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string node = "devices/system/node/";
    const uint64_t has_memory = ino_of(t, m, node + "has_memory");
    const uint64_t has_normal = ino_of(t, m, node + "has_normal_memory");
    CHECK(read_path(t, m, node + "has_memory") == "0\n");
    CHECK(read_path(t, m, node + "has_normal_memory") == "0\n");

    // A second block of node 0: the masks stay.
    hotplug::Outcome out;
    fsmodel::Invalidations inv;
    REQUIRE(write_path(t, m, kMem + "memory20/online", "0", &out) == 1);
    t.refresh(m, out.changes, kBoot + 10, inv);
    CHECK_FALSE(has(inv, has_memory));
    CHECK(mtime(t, m, node + "has_memory") == kBoot);

    out = {};
    inv = {};
    REQUIRE(write_path(t, m, kMem + "memory32/state", "online_movable", &out) == 14);
    t.refresh(m, out.changes, kBoot + 20, inv);
    CHECK(has(inv, has_memory));
    CHECK(has(inv, has_normal));
    CHECK(has(inv, ino_of(t, m, node + "node1/meminfo")));
    CHECK(read_path(t, m, node + "has_memory") == "0-1\n");
    CHECK(read_path(t, m, node + "has_normal_memory") == "0\n");
    const int64_t t1 = mtime(t, m, node + "has_memory");
    CHECK(t1 > kBoot);
    CHECK(mtime(t, m, node + "has_normal_memory") == t1);

    out = {};
    inv = {};
    REQUIRE(write_path(t, m, kMem + "memory32/state", "offline", &out) == 7);
    t.refresh(m, out.changes, kBoot + 30, inv);
    CHECK(has(inv, has_memory));
    CHECK(read_path(t, m, node + "has_memory") == "0\n");
    CHECK(mtime(t, m, node + "has_memory") > t1);
}

TEST_CASE("refresh: probe adds names to three listings", "[refresh]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const uint64_t memdir = ino_of(t, m, "devices/system/memory");
    const uint64_t busdir = ino_of(t, m, "bus/memory/devices");
    const uint64_t node0 = ino_of(t, m, "devices/system/node/node0");
    const uint64_t node1 = ino_of(t, m, "devices/system/node/node1");
    const uint32_t nlink = stat_of(t, m, "devices/system/memory").nlink;

    hotplug::Outcome out;
    REQUIRE(write_path(t, m, kMem + "probe", "0x440000000", &out) == 11);
    fsmodel::Invalidations inv;
    t.refresh(m, out.changes, kBoot + 100, inv);
    CHECK(has(inv, memdir));
    CHECK(has(inv, busdir));
    CHECK(has(inv, node0));
    CHECK_FALSE(has(inv, node1));
    CHECK(has(inv, ino_of(t, m, kMem + "memory136/state")));
    CHECK(has(inv, ino_of(t, m, kMem + "memory136/online")));
    CHECK(has(inv, ino_of(t, m, kMem + "memory136/valid_zones")));
    CHECK(inv.removed_entries.empty());
    CHECK(stat_of(t, m, "devices/system/memory").nlink == nlink + 1);
    CHECK(mtime(t, m, "devices/system/memory") == kBoot + 100);
    CHECK(mtime(t, m, "bus/memory/devices") == kBoot + 100);
    CHECK(mtime(t, m, "devices/system/node/node0") == kBoot + 100);
    CHECK(mtime(t, m, "devices/system/node/node1") == kBoot);
    CHECK(mtime(t, m, kMem + "memory136/state") == kBoot + 100);

    // With auto-onlining, the add also onlines: the node's meminfo follows.
    REQUIRE(write_path(t, m, kMem + "auto_online_blocks", "online_movable") == 14);
    out = {};
    inv = {};
    REQUIRE(write_path(t, m, kMem + "probe", "0x448000000", &out) == 11);
    REQUIRE(out.events.size() == 2);
    CHECK(out.events[0].action == "add");
    CHECK(out.events[1].action == "online");
    CHECK(out.events[1].seqnum > out.events[0].seqnum);
    t.refresh(m, out.changes, kBoot + 200, inv);
    CHECK(has(inv, memdir));
    CHECK(has(inv, ino_of(t, m, "devices/system/node/node0/meminfo")));
    CHECK(read_path(t, m, kMem + "memory137/valid_zones") == "Movable\n");
}

TEST_CASE("refresh: removal names every vanished entry", "[refresh]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const uint64_t memdir = ino_of(t, m, "devices/system/memory");
    const uint64_t busdir = ino_of(t, m, "bus/memory/devices");
    const uint64_t node0 = ino_of(t, m, "devices/system/node/node0");
    const uint32_t nlink = stat_of(t, m, "devices/system/memory").nlink;

    for (uint64_t block : {72u, 39u}) {  // offline hot-added, then online boot memory
        INFO("block " << block);
        const std::string name = "memory" + std::to_string(block);
        const uint64_t dir_ino = ino_of(t, m, kMem + name);
        const uint64_t state_ino = ino_of(t, m, kMem + name + "/state");
        const uint64_t node_link = ino_of(t, m, "devices/system/node/node0/" + name);
        const uint64_t bus_link = ino_of(t, m, "bus/memory/devices/" + name);
        auto out = m.remove_memory(block * kBlock, kBlock);
        REQUIRE(out.ok());
        fsmodel::Invalidations inv;
        t.refresh(m, out.changes, kBoot + 1000 + static_cast<int64_t>(block), inv);
        CHECK(has_removed(inv, memdir, name, dir_ino));
        CHECK(has_removed(inv, node0, name, node_link));
        CHECK(has_removed(inv, busdir, name, bus_link));
        CHECK(inv.removed_entries.size() == 3);
        CHECK(has(inv, memdir));
        CHECK(has(inv, busdir));
        CHECK(has(inv, node0));
        CHECK(has(inv, dir_ino));
        CHECK(has(inv, state_ino));
        if (block == 39) CHECK(has(inv, ino_of(t, m, "devices/system/node/node0/meminfo")));
        fsmodel::Stat st;
        CHECK(lookup_path(t, m, kMem + name, st) == ENOENT);
        CHECK(lookup_path(t, m, "bus/memory/devices/" + name, st) == ENOENT);
        CHECK(lookup_path(t, m, "devices/system/node/node0/" + name, st) == ENOENT);
        CHECK(t.getattr(m, dir_ino, st) == ENOENT);
        CHECK(t.getattr(m, state_ino, st) == ENOENT);
        for (const auto& e : list(t, m, memdir)) CHECK(e.name != name);
    }
    CHECK(stat_of(t, m, "devices/system/memory").nlink == nlink - 2);
}

TEST_CASE("refresh: parameters, and touch after a write", "[refresh]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string p = "module/memory_hotplug/parameters/";
    hotplug::Outcome out;
    REQUIRE(write_path(t, m, p + "online_policy", "auto-movable", &out) == 12);
    fsmodel::Invalidations inv;
    t.refresh(m, out.changes, kBoot + 50, inv);
    CHECK(has(inv, ino_of(t, m, p + "online_policy")));
    CHECK(has(inv, ino_of(t, m, p + "auto_movable_ratio")));
    CHECK(has(inv, ino_of(t, m, kMem + "auto_online_blocks")));
    // Policy inputs changed: every offline block's valid_zones may read differently.
    CHECK(has(inv, ino_of(t, m, kMem + "memory72/valid_zones")));
    CHECK(has(inv, ino_of(t, m, kMem + "memory135/valid_zones")));
    CHECK_FALSE(has(inv, ino_of(t, m, kMem + "memory5/valid_zones")));  // online
    CHECK(mtime(t, m, p + "online_policy") == kBoot + 50);

    // A write to a static writable file: touch gives it a new mtime.
    const std::string control = kMem + "memory5/power/control";
    REQUIRE(write_path(t, m, control, "auto") == 4);
    inv = {};
    t.touch(m, ino_of(t, m, control), kBoot + 50, inv);
    CHECK(inv.inodes == std::vector<uint64_t>{ino_of(t, m, control)});
    CHECK(mtime(t, m, control) > kBoot + 50);
}

TEST_CASE("refresh: devices that come and go move the files of later ones", "[refresh]") {
    auto m = default_machine();  // no configured devices
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string devs = "kernel/debug/hotplugfs/devices";
    const uint64_t devdir = ino_of(t, m, devs);
    auto add = [&](const std::string& name, uint64_t size) {
        hotplug::NewDevice n;
        n.name = name;
        n.size = size;
        auto out = m.create_device(n);
        REQUIRE(out.ok());
        return out;
    };
    fsmodel::Invalidations inv;
    auto a = add("a", 1 * GiB);
    t.refresh(m, a.changes, kBoot + 10, inv);
    CHECK(has(inv, devdir));
    CHECK(inv.removed_entries.empty());
    CHECK(has(inv, ino_of(t, m, devs + "/a/size")));
    add("b", 2 * GiB);

    const uint64_t b_dir = ino_of(t, m, devs + "/b");
    const uint64_t b_size = ino_of(t, m, devs + "/b/size");
    const uint64_t a_dir = ino_of(t, m, devs + "/a");
    CHECK(read_path(t, m, devs + "/b/size") == "2147483648\n");
    const int64_t before = mtime(t, m, devs + "/b/size");

    auto out = m.unplug_device("a");
    REQUIRE(out.ok());
    inv = {};
    t.refresh(m, out.changes, kBoot + 20, inv);
    // Both names vanish from where they were; b's old inodes (index 1) are invalidated and
    // index 0 now reads b, with a newer mtime so that cached pages are dropped.
    CHECK(has_removed(inv, devdir, "a", a_dir));
    CHECK(has_removed(inv, devdir, "b", b_dir));
    CHECK(has(inv, b_size));
    CHECK(has(inv, devdir));
    CHECK(ino_of(t, m, devs + "/b") == a_dir);
    CHECK(read_path(t, m, devs + "/b/size") == "2147483648\n");
    CHECK(mtime(t, m, devs + "/b/size") > before);
    fsmodel::Stat st;
    CHECK(lookup_path(t, m, devs + "/a", st) == ENOENT);
    CHECK(t.getattr(m, b_size, st) == ENOENT);
}

TEST_CASE("refresh, exact mode: changing files say what sysfs says and invalidate nothing",
          "[refresh]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot, fsmodel::ChangingFiles::LikeSysfs);
    const std::string b = kMem + "memory72/";
    const uint64_t memdir = ino_of(t, m, "devices/system/memory");
    const uint64_t node0 = ino_of(t, m, "devices/system/node/node0");
    for (const char* file : {"state", "online", "valid_zones", "uevent"}) {
        INFO(file);
        const auto st = stat_of(t, m, b + file);
        CHECK(st.size == 4096);
        CHECK(st.mtime_ns == kBoot);
    }
    CHECK(stat_of(t, m, "devices/system/node/node0/meminfo").size == 4096);
    CHECK(stat_of(t, m, kMem + "auto_online_blocks").size == 4096);
    // A file that never changes keeps its length: the page cache serves it.
    CHECK(stat_of(t, m, b + "phys_index").size == 9);

    hotplug::Outcome out;
    REQUIRE(write_path(t, m, b + "state", "online", &out) == 6);
    fsmodel::Invalidations inv;
    t.refresh(m, out.changes, kBoot + 10, inv);
    CHECK(inv.inodes.empty());
    t.touch(m, ino_of(t, m, b + "state"), kBoot + 20, inv);
    CHECK(inv.inodes.empty());
    CHECK(stat_of(t, m, b + "state").mtime_ns == kBoot);
    CHECK(read_path(t, m, b + "state") == "online\n");

    // A hot-add still changes listings: those are cached.
    out = {};
    REQUIRE(write_path(t, m, kMem + "probe", "0x440000000", &out) == 11);
    inv = {};
    t.refresh(m, out.changes, kBoot + 30, inv);
    CHECK(has(inv, memdir));
    CHECK(has(inv, node0));
}
