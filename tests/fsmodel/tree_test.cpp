// Tree: the generic sysfs rules (lookup, attributes, listings, read, write, open checks)
// against the reference capture and the built-in machine.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "fsmodel_support.h"

using namespace fstest;
using namespace std::string_literals;

namespace {

constexpr uint32_t F = S_IFREG, D = S_IFDIR, L = S_IFLNK;

struct Expect {
    const char* name;
    uint32_t mode;  // type bits | permission bits
};

// The listing of `dir` holds exactly `expected` plus entries accepted by `extra`.
template <class Extra>
void check_listing(const fsmodel::Tree& t, const hotplug::Machine& m, const std::string& dir,
                   const std::vector<Expect>& expected, Extra extra) {
    INFO("directory " << dir);
    const auto entries = list_map(t, m, dir);
    for (const auto& e : expected) {
        INFO("entry " << e.name);
        REQUIRE(entries.count(e.name) == 1);
        const auto st = stat_of(t, m, dir + "/" + e.name);
        CHECK(st.mode == e.mode);
        CHECK((entries.at(e.name).type) == (e.mode & S_IFMT));
        CHECK(entries.at(e.name).ino == st.ino);
    }
    for (const auto& [name, entry] : entries) {
        bool listed = false;
        for (const auto& e : expected) listed = listed || name == e.name;
        INFO("unexpected entry " << name);
        CHECK((listed || extra(name)));
    }
}

bool none(const std::string&) { return false; }

bool numbered(const std::string& name, const std::string& prefix) {
    return name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
           name.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
}

const std::vector<Expect> kBlockEntries = {
    {"node0", L | 0777},      {"online", F | 0644},    {"phys_device", F | 0444},
    {"phys_index", F | 0444}, {"power", D | 0755},     {"removable", F | 0444},
    {"state", F | 0644},      {"subsystem", L | 0777}, {"uevent", F | 0644},
    {"valid_zones", F | 0444},
};

const std::vector<Expect> kPowerEntries = {
    {"autosuspend_delay_ms", F | 0644}, {"control", F | 0644},
    {"runtime_active_time", F | 0444},  {"runtime_status", F | 0444},
    {"runtime_suspended_time", F | 0444},
};

}  // namespace

TEST_CASE("reference: listings, modes and nlink", "[tree][reference]") {
    auto m = reference_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);

    SECTION("devices/system/memory") {
        check_listing(t, m, "devices/system/memory",
                      {{"auto_online_blocks", F | 0644},
                       {"block_size_bytes", F | 0444},
                       {"power", D | 0755},
                       {"uevent", F | 0644}},
                      [](const std::string& n) { return numbered(n, "memory"); });
        std::set<std::string> blocks;
        for (const auto& [name, e] : list_map(t, m, "devices/system/memory"))
            if (numbered(name, "memory")) {
                blocks.insert(name);
                CHECK(e.type == D);
            }
        std::set<std::string> expected;
        for (int i = 0; i <= 23; ++i) expected.insert("memory" + std::to_string(i));
        for (int i = 32; i <= 199; ++i) expected.insert("memory" + std::to_string(i));
        CHECK(blocks == expected);
        const auto st = stat_of(t, m, "devices/system/memory");
        CHECK(st.mode == (D | 0755));
        CHECK(st.nlink == 195);  // 192 blocks + power + 2
        CHECK(st.size == 0);
    }
    SECTION("memoryN directories") {
        for (const char* block : {"memory0", "memory1", "memory5", "memory23", "memory32",
                                  "memory199"}) {
            const std::string dir = "devices/system/memory/"s + block;
            check_listing(t, m, dir, kBlockEntries, none);
            check_listing(t, m, dir + "/power", kPowerEntries, none);
            CHECK(stat_of(t, m, dir).mode == (D | 0755));
            CHECK(stat_of(t, m, dir).nlink == 3);
            CHECK(stat_of(t, m, dir + "/power").nlink == 2);
        }
        // listdir(memory5) of the reference, sorted.
        std::vector<std::string> names;
        for (const auto& [name, e] : list_map(t, m, "devices/system/memory/memory5"))
            names.push_back(name);
        CHECK(names == std::vector<std::string>{"node0", "online", "phys_device", "phys_index",
                                                "power", "removable", "state", "subsystem",
                                                "uevent", "valid_zones"});
    }
    SECTION("devices/system/memory/power") {
        check_listing(t, m, "devices/system/memory/power", kPowerEntries, none);
    }
    SECTION("devices/system/node") {
        check_listing(t, m, "devices/system/node",
                      {{"has_cpu", F | 0444},
                       {"has_generic_initiator", F | 0444},
                       {"has_memory", F | 0444},
                       {"has_normal_memory", F | 0444},
                       {"node0", D | 0755},
                       {"online", F | 0444},
                       {"possible", F | 0444},
                       {"power", D | 0755},
                       {"uevent", F | 0644}},
                      none);
        CHECK(stat_of(t, m, "devices/system/node").nlink == 4);
    }
    SECTION("devices/system/node/node0") {
        // memoryN links are filtered in the capture.
        check_listing(t, m, "devices/system/node/node0",
                      {{"compact", F | 0200},
                       {"cpu0", L | 0777},
                       {"cpu1", L | 0777},
                       {"cpulist", F | 0444},
                       {"cpumap", F | 0444},
                       {"distance", F | 0444},
                       {"hugepages", D | 0755},
                       {"meminfo", F | 0444},
                       {"numastat", F | 0444},
                       {"power", D | 0755},
                       {"reclaim", F | 0200},
                       {"subsystem", L | 0777},
                       {"uevent", F | 0644},
                       {"vmstat", F | 0444}},
                      [](const std::string& n) { return numbered(n, "memory"); });
        CHECK(stat_of(t, m, "devices/system/node/node0").nlink == 4);
        CHECK(stat_of(t, m, "devices/system/node/node0/hugepages").nlink == 4);
        // One link per block of the node.
        size_t links = 0;
        for (const auto& [name, e] : list_map(t, m, "devices/system/node/node0"))
            if (numbered(name, "memory")) {
                ++links;
                CHECK(e.type == L);
            }
        CHECK(links == 192);
    }
    SECTION("bus/memory") {
        check_listing(t, m, "bus/memory",
                      {{"devices", D | 0755},
                       {"drivers", D | 0755},
                       {"drivers_autoprobe", F | 0644},
                       {"drivers_probe", F | 0200},
                       {"uevent", F | 0200}},
                      none);
        CHECK(stat_of(t, m, "bus/memory").nlink == 4);
        const auto devices = list_map(t, m, "bus/memory/devices");
        CHECK(devices.size() == 192);
        CHECK(devices.at("memory0").type == L);
        CHECK(devices.at("memory1").type == L);
        CHECK(stat_of(t, m, "bus/memory/devices").nlink == 2);
        CHECK(stat_of(t, m, "bus/memory/devices/memory0").mode == (L | 0777));
    }
    SECTION("module/memory_hotplug/parameters") {
        check_listing(t, m, "module/memory_hotplug/parameters",
                      {{"auto_movable_numa_aware", F | 0644},
                       {"auto_movable_ratio", F | 0644},
                       {"memmap_on_memory", F | 0444},
                       {"online_policy", F | 0644}},
                      none);
        CHECK(stat_of(t, m, "module/memory_hotplug/parameters").nlink == 2);
    }
}

TEST_CASE("reference: readlink targets", "[tree][reference]") {
    auto m = reference_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::pair<const char*, const char*> rows[] = {
        {"devices/system/memory/memory5/node0", "../../node/node0"},
        {"devices/system/memory/memory5/subsystem", "../../../../bus/memory"},
        {"devices/system/memory/memory0/node0", "../../node/node0"},
        {"devices/system/node/node0/subsystem", "../../../../bus/node"},
        {"devices/system/node/node0/memory5", "../../memory/memory5"},
        {"devices/system/node/node0/memory199", "../../memory/memory199"},
        {"bus/memory/devices/memory0", "../../../devices/system/memory/memory0"},
        {"bus/memory/devices/memory1", "../../../devices/system/memory/memory1"},
        {"bus/node/devices/node0", "../../../devices/system/node/node0"},
    };
    for (const auto& [path, target] : rows) {
        INFO(path);
        CHECK(readlink_path(t, m, path) == target);
        CHECK(stat_of(t, m, path).size == 0);
    }
    std::string out;
    CHECK(t.readlink(m, ino_of(t, m, "devices/system/memory/memory5/state"), out) == EINVAL);
    CHECK(t.readlink(m, ino_of(t, m, "devices/system/memory/memory5"), out) == EINVAL);
}

TEST_CASE("reference: bytes of every captured read", "[tree][reference]") {
    auto m = reference_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::pair<const char*, std::string> rows[] = {
        {"devices/system/memory/memory0/phys_index", "00000000\n"},
        {"devices/system/memory/memory0/state", "online\n"},
        {"devices/system/memory/memory0/online", "1\n"},
        {"devices/system/memory/memory0/removable", "1\n"},
        {"devices/system/memory/memory0/phys_device", "0\n"},
        {"devices/system/memory/memory0/valid_zones", "none\n"},
        {"devices/system/memory/memory0/uevent", ""},
        {"devices/system/memory/memory1/phys_index", "00000001\n"},
        {"devices/system/memory/memory1/state", "online\n"},
        {"devices/system/memory/memory1/online", "1\n"},
        {"devices/system/memory/memory1/removable", "1\n"},
        {"devices/system/memory/memory1/phys_device", "0\n"},
        {"devices/system/memory/memory1/valid_zones", "DMA32\n"},
        {"devices/system/memory/memory1/uevent", ""},
        {"devices/system/memory/memory23/phys_index", "00000017\n"},
        {"devices/system/memory/memory23/valid_zones", "DMA32\n"},
        {"devices/system/memory/memory32/phys_index", "00000020\n"},
        {"devices/system/memory/memory32/valid_zones", "Normal\n"},
        {"devices/system/memory/memory199/phys_index", "000000c7\n"},
        {"devices/system/memory/memory199/state", "online\n"},
        {"devices/system/memory/memory199/valid_zones", "Normal\n"},
        {"devices/system/memory/auto_online_blocks", "offline\n"},
        {"devices/system/memory/block_size_bytes", "8000000\n"},
        {"devices/system/memory/uevent", ""},
        {"devices/system/memory/memory0/power/control", "auto\n"},
        {"devices/system/memory/memory5/power/runtime_status", "unsupported\n"},
        {"devices/system/memory/memory5/power/runtime_active_time", "0\n"},
        {"devices/system/memory/memory5/power/runtime_suspended_time", "0\n"},
        {"devices/system/node/online", "0\n"},
        {"devices/system/node/possible", "0\n"},
        {"devices/system/node/has_memory", "0\n"},
        {"devices/system/node/has_normal_memory", "0\n"},
        {"devices/system/node/has_cpu", "0\n"},
        {"devices/system/node/has_generic_initiator", "\n"},
        {"devices/system/node/node0/distance", "10\n"},
        {"devices/system/node/node0/cpulist", "0-1\n"},
        {"devices/system/node/node0/cpumap", "3\n"},
        {"module/memory_hotplug/parameters/auto_movable_numa_aware", "Y\n"},
        {"module/memory_hotplug/parameters/auto_movable_ratio", "301\n"},
        {"module/memory_hotplug/parameters/memmap_on_memory", "N\n"},
        {"module/memory_hotplug/parameters/online_policy", "contig-zones\n"},
    };
    for (const auto& [path, bytes] : rows) {
        INFO(path);
        CHECK(read_path(t, m, path) == bytes);
        // The emulator reports the length of the content as st_size (spec §2 allows it).
        CHECK(stat_of(t, m, path).size == bytes.size());
    }
    // udevadm's attribute walk of memory5.
    CHECK(read_path(t, m, "devices/system/memory/memory5/phys_index") == "00000005\n");
}

TEST_CASE("reference: node meminfo has the kernel's layout", "[tree][reference]") {
    auto m = reference_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    // Labels in the captured order; every line is "Node 0 " + label padded + value + " kB".
    const char* labels[] = {
        "MemTotal:",       "MemFree:",        "MemUsed:",        "SwapCached:",
        "Active:",         "Inactive:",       "Active(anon):",   "Inactive(anon):",
        "Active(file):",   "Inactive(file):", "Unevictable:",    "Mlocked:",
        "Dirty:",          "Writeback:",      "FilePages:",      "Mapped:",
        "AnonPages:",      "Shmem:",          "KernelStack:",    "PageTables:",
        "SecPageTables:",  "NFS_Unstable:",   "Bounce:",         "WritebackTmp:",
        "KReclaimable:",   "Slab:",           "SReclaimable:",   "SUnreclaim:",
        "AnonHugePages:",  "ShmemHugePages:", "ShmemPmdMapped:", "FileHugePages:",
        "FilePmdMapped:",
    };
    const std::string text = read_path(t, m, "devices/system/node/node0/meminfo");
    std::vector<std::string> lines;
    for (size_t pos = 0; pos < text.size();) {
        const size_t nl = text.find('\n', pos);
        REQUIRE(nl != std::string::npos);
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    REQUIRE(lines.size() == std::size(labels) + 3);
    for (size_t i = 0; i < std::size(labels); ++i) {
        INFO(lines[i]);
        // "Node 0 MemTotal:        4286668 kB": 7 + 16 + 8 + 3 columns.
        CHECK(lines[i].size() == 34);
        CHECK(lines[i].compare(0, 7, "Node 0 ") == 0);
        CHECK(lines[i].compare(7, std::string(labels[i]).size(), labels[i]) == 0);
        CHECK(lines[i].compare(31, 3, " kB") == 0);
    }
    CHECK(lines[0] == "Node 0 MemTotal:       25165824 kB");  // 24 GiB online
    CHECK(lines[1] == "Node 0 MemFree:        25007456 kB");
    CHECK(lines[2] == "Node 0 MemUsed:          158368 kB");  // the captured value
    CHECK(lines[3] == "Node 0 SwapCached:            0 kB");
    CHECK(lines[33] == "Node 0 HugePages_Total:     0");
    CHECK(lines[34] == "Node 0 HugePages_Free:      0");
    CHECK(lines[35] == "Node 0 HugePages_Surp:      0");
}

TEST_CASE("lookup: what does not exist fails ENOENT", "[tree]") {
    auto m = reference_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    fsmodel::Stat st;
    for (const char* path : {"devices/system/memory/memory5/nonexistent",
                             "devices/system/memory/memory24",    // hole in the capture
                             "devices/system/memory/memory200",   // past the end
                             "devices/system/memory/memory05",    // no padding
                             "devices/system/memory/memory+5",
                             "devices/system/memory/memory",
                             "devices/system/memory/memory99999999999999999999",
                             "devices/system/memory/probe",       // not enabled here
                             "devices/system/memory/soft_offline_page",
                             "devices/system/memory/hard_offline_page",
                             "devices/system/memory/crash_hotplug",
                             "devices/system/memory/memory5/node1",
                             "devices/system/node/node1",
                             "devices/system/node/node00",
                             "devices/system/node/node0/memory24",
                             "bus/memory/devices/memory24",
                             "bus/node/devices/node1",
                             "devices/system/cpu/cpu2",
                             "devices/system/cpu/cpu01",
                             "devices/system/cpu/cpu0/online",  // x86 cannot offline cpu0
                             "devices/system/cpu/cpu1/node1",
                             "devices/system/node/node0/cpu2",
                             "bus/cpu/devices/cpu2",
                             "firmware"}) {
        INFO(path);
        CHECK(lookup_path(t, m, path, st) == ENOENT);
    }
    // Looking up inside a file.
    CHECK(lookup_path(t, m, "devices/system/memory/memory5/state/x", st) == ENOTDIR);
    CHECK(t.readdir(m, ino_of(t, m, "devices/system/memory/memory5/state"), 0,
                    [](std::string_view, uint64_t, uint32_t, uint64_t) { return true; }) ==
          ENOTDIR);
    // An inode of a block that does not exist.
    CHECK(t.getattr(m, fsmodel::encode_inode(fsmodel::Scope::Block, 24, 0), st) == ENOENT);
    CHECK(t.getattr(m, fsmodel::encode_inode(fsmodel::Scope::Node, 1, 0), st) == ENOENT);
    CHECK(t.getattr(m, fsmodel::encode_inode(fsmodel::Scope::Global, 0, 60000), st) == ENOENT);
}

TEST_CASE("readdir: dots, and resuming at any offset", "[tree]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    for (const char* dir : {"devices/system/memory", "devices/system/node/node1",
                            "devices/system/memory/memory40", "bus/memory/devices",
                            "devices/system/cpu", ""}) {
        INFO(dir);
        const uint64_t ino = dir[0] ? ino_of(t, m, dir) : kRoot;
        std::vector<DirEntry> dots;
        const auto all = list(t, m, ino, &dots);
        REQUIRE(dots.size() == 2);
        CHECK(dots[0].name == ".");
        CHECK(dots[0].ino == ino);
        CHECK(dots[1].name == "..");
        CHECK(dots[0].type == D);
        // Read the listing one entry per call, resuming from the offset of the last one.
        std::vector<std::string> names;
        uint64_t offset = 0;
        for (int calls = 0; calls < 10000; ++calls) {
            bool got = false;
            REQUIRE(t.readdir(m, ino, offset, [&](std::string_view name, uint64_t, uint32_t,
                                                  uint64_t next) {
                if (got) return false;
                got = true;
                if (name != "." && name != "..") names.emplace_back(name);
                offset = next;
                return true;
            }) == 0);
            if (!got) break;
        }
        std::vector<std::string> expected;
        for (const auto& e : all) expected.push_back(e.name);
        CHECK(names == expected);
    }
    // ".." of a block directory is the memory directory.
    std::vector<DirEntry> dots;
    list(t, m, ino_of(t, m, "devices/system/memory/memory40"), &dots);
    CHECK(dots[1].ino == ino_of(t, m, "devices/system/memory"));
    dots.clear();
    list(t, m, ino_of(t, m, "devices/system/node/node1"), &dots);
    CHECK(dots[1].ino == ino_of(t, m, "devices/system/node"));
}

TEST_CASE("node links: each block appears under its own node only", "[tree]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    fsmodel::Stat st;
    // Default machine: blocks 0-23, 32-39 and 72-103 on node 0, 40-71 and 104-135 on node 1.
    CHECK(lookup_path(t, m, "devices/system/node/node0/memory39", st) == 0);
    CHECK(lookup_path(t, m, "devices/system/node/node1/memory39", st) == ENOENT);
    CHECK(lookup_path(t, m, "devices/system/node/node1/memory40", st) == 0);
    CHECK(lookup_path(t, m, "devices/system/memory/memory40/node1", st) == 0);
    CHECK(lookup_path(t, m, "devices/system/memory/memory40/node0", st) == ENOENT);
    CHECK(readlink_path(t, m, "devices/system/memory/memory40/node1") == "../../node/node1");
    size_t n0 = 0, n1 = 0;
    for (const auto& [name, e] : list_map(t, m, "devices/system/node/node0"))
        n0 += numbered(name, "memory");
    for (const auto& [name, e] : list_map(t, m, "devices/system/node/node1"))
        n1 += numbered(name, "memory");
    CHECK(n0 == 64);
    CHECK(n1 == 64);
    CHECK(read_path(t, m, "devices/system/node/online") == "0-1\n");
    CHECK(read_path(t, m, "devices/system/node/has_memory") == "0-1\n");
    CHECK(read_path(t, m, "devices/system/node/node1/distance") == "20 10\n");
    CHECK(read_path(t, m, "devices/system/node/node1/cpulist") == "2-3\n");
    CHECK(read_path(t, m, "devices/system/node/node1/cpumap") == "c\n");
    CHECK(stat_of(t, m, "devices/system/node").nlink == 5);  // node0, node1, power
}

TEST_CASE("reference: store errnos of the syscall-level capture", "[tree][write][reference]") {
    auto m = reference_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string state = "devices/system/memory/memory5/state";
    const std::string online = "devices/system/memory/memory5/online";
    struct Row {
        std::string path;
        std::string data;
        long result;
    };
    const std::vector<Row> rows = {
        {state, std::string(5000, 'x'), -EINVAL},
        {state, std::string(4096, 'x'), -EINVAL},
        {state, "", 0},
        {state, "online", -EINVAL},  // already online
        {state, "online\n", -EINVAL},
        {state, "online\n\n", -EINVAL},
        {state, " online", -EINVAL},
        {state, "ONLINE", -EINVAL},
        {state, "offlinex", -EINVAL},
        {state, "online_kernel", -EINVAL},
        {state, "online_movable\n", -EINVAL},
        {state, "bogus\n", -EINVAL},
        {online, "y", 1},
        {online, "Y", 1},
        {online, "yes", 3},
        {online, "on", 2},
        {online, "true", 4},
        {online, "t", 1},
        {online, "1abc", 4},
        {online, "", 0},
        {online, " 1", -EINVAL},
        {online, "1\n", 2},
        {online, "2", -EINVAL},
        {online, "2\n", -EINVAL},
        {online, "online", 6},
        {"devices/system/memory/auto_online_blocks", "bogus\n", -EINVAL},
        {"devices/system/memory/auto_online_blocks", "online\n\n", -EINVAL},
        {"devices/system/memory/auto_online_blocks", "Offline", -EINVAL},
        {"module/memory_hotplug/parameters/online_policy", "bogus\n", -EINVAL},
        {"module/memory_hotplug/parameters/online_policy", "contig_zones", -EINVAL},
        {"module/memory_hotplug/parameters/auto_movable_numa_aware", "2", -EINVAL},
        {"module/memory_hotplug/parameters/auto_movable_numa_aware", " y", -EINVAL},
        {"module/memory_hotplug/parameters/auto_movable_ratio", "-1", -EINVAL},
        {"module/memory_hotplug/parameters/auto_movable_ratio", "abc\n", -EINVAL},
        {"module/memory_hotplug/parameters/auto_movable_ratio", "4294967296", -ERANGE},
        {"devices/system/memory/block_size_bytes", "x\n", -EACCES},
        {"devices/system/memory/memory5/phys_index", "x\n", -EACCES},
        {"devices/system/memory/memory5/valid_zones", "Normal\n", -EACCES},
        {"devices/system/memory/memory5/removable", "0\n", -EACCES},
        {"devices/system/memory/memory5/phys_device", "0\n", -EACCES},
        {"module/memory_hotplug/parameters/memmap_on_memory", "Y\n", -EACCES},
        {"devices/system/node/has_memory", "0\n", -EACCES},
        {"devices/system/memory/memory5/power/autosuspend_delay_ms", "100\n", -EIO},
        {"devices/system/memory/memory5/power/control", "bogus\n", -EINVAL},
        {"devices/system/memory/memory5/power/control", "auto\n", 5},
        {"devices/system/memory/memory5/subsystem", "x", -EACCES},  // a link
        {"devices/system/memory/memory5", "x", -EISDIR},
    };
    const uint64_t seq = m.last_seqnum();
    for (const auto& r : rows) {
        INFO(r.path << " <- '" << r.data.substr(0, 20) << "' (" << r.data.size() << " bytes)");
        CHECK(write_path(t, m, r.path, r.data) == r.result);
    }
    // No write above changed anything.
    CHECK(m.last_seqnum() == seq);
    CHECK(read_path(t, m, state) == "online\n");
    CHECK(read_path(t, m, online) == "1\n");
    CHECK(read_path(t, m, "devices/system/memory/auto_online_blocks") == "offline\n");
    CHECK(read_path(t, m, "module/memory_hotplug/parameters/online_policy") == "contig-zones\n");
    CHECK(read_path(t, m, "module/memory_hotplug/parameters/auto_movable_ratio") == "301\n");
    CHECK(read_path(t, m, "module/memory_hotplug/parameters/auto_movable_numa_aware") == "Y\n");
}

TEST_CASE("write: one write is one store of at most one page, as a C string",
          "[tree][write]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    // memory72: hot-added, offline, node 0.
    const std::string dir = "devices/system/memory/memory72/";
    hotplug::Outcome out;

    SECTION("zero-length write returns 0 and changes nothing") {
        const uint64_t seq = m.last_seqnum();
        for (const char* f : {"state", "online", "uevent"}) {
            hotplug::Outcome o;
            CHECK(write_path(t, m, dir + f, "", &o) == 0);
            CHECK(o.events.empty());
            CHECK(o.changes.empty());
        }
        CHECK(write_path(t, m, "devices/system/memory/probe", "") == 0);
        CHECK(m.last_seqnum() == seq);
        CHECK(read_path(t, m, dir + "state") == "offline\n");
        CHECK(m.blocks().count() == 128);
    }
    SECTION("a successful store returns the full byte count") {
        CHECK(write_path(t, m, dir + "state", "online_movable\n", &out) == 15);
        REQUIRE(out.events.size() == 1);
        CHECK(out.events[0].action == "online");
        CHECK(out.events[0].devpath == "/devices/system/memory/memory72");
        CHECK(read_path(t, m, dir + "state") == "online\n");
        CHECK(read_path(t, m, dir + "online") == "1\n");
        CHECK(read_path(t, m, dir + "valid_zones") == "Movable\n");
        CHECK(write_path(t, m, dir + "state", "online_movable") == -EINVAL);
        CHECK(write_path(t, m, dir + "state", "offline") == 7);
        CHECK(read_path(t, m, dir + "state") == "offline\n");
        CHECK(read_path(t, m, dir + "online") == "0\n");
        CHECK(write_path(t, m, dir + "state", "offline\n") == -EINVAL);
        // `online`: false on an offline block is a successful no-op without events.
        hotplug::Outcome noop;
        CHECK(write_path(t, m, dir + "online", "0", &noop) == 1);
        CHECK(noop.events.empty());
        CHECK(write_path(t, m, dir + "online", "off\n", &noop) == 4);
        CHECK(write_path(t, m, dir + "online", "1\n", &out) == 2);
        CHECK(read_path(t, m, dir + "state") == "online\n");
        CHECK(write_path(t, m, dir + "online", "n") == 1);
        CHECK(read_path(t, m, dir + "state") == "offline\n");
        CHECK(write_path(t, m, dir + "state", "online_kernel") == 13);
        CHECK(read_path(t, m, dir + "valid_zones") == "Normal\n");
    }
    SECTION("bytes after a NUL are ignored; the count still includes them") {
        const std::string data = "online_movable\0garbage"s;
        CHECK(write_path(t, m, dir + "state", data, &out) == static_cast<long>(data.size()));
        CHECK(read_path(t, m, dir + "valid_zones") == "Movable\n");
        // A leading NUL leaves an empty string: not a state word.
        CHECK(write_path(t, m, dir + "state", "\0offline"s) == -EINVAL);
        CHECK(write_path(t, m, dir + "online", "\0"s + "0") == -EINVAL);
        CHECK(read_path(t, m, dir + "state") == "online\n");
    }
    SECTION("writes longer than a page consume one page") {
        std::string data = "offline"s + '\0' + std::string(6000, 'z');
        CHECK(write_path(t, m, "devices/system/memory/memory0/online",
                         "1" + std::string(4999, 'x')) == 4096);
        CHECK(write_path(t, m, dir + "state", "online" + std::string(4999, '\n')) == -EINVAL);
        CHECK(write_path(t, m, dir + "state", "online\0"s + std::string(4999, 'x'), &out) ==
              4096);
        CHECK(read_path(t, m, dir + "state") == "online\n");
        CHECK(write_path(t, m, dir + "state", data) == 4096);
        CHECK(read_path(t, m, dir + "state") == "offline\n");
        // Bytes past the first page never reach the store.
        CHECK(write_path(t, m, dir + "state", std::string(4096, '\n') + "online") == -EINVAL);
        CHECK(read_path(t, m, dir + "state") == "offline\n");
    }
    SECTION("parameters and auto_online_blocks round-trip") {
        const std::string p = "module/memory_hotplug/parameters/";
        CHECK(write_path(t, m, "devices/system/memory/auto_online_blocks",
                         "online_movable\n") == 15);
        CHECK(read_path(t, m, "devices/system/memory/auto_online_blocks") ==
              "online_movable\n");
        CHECK(write_path(t, m, "devices/system/memory/auto_online_blocks", "offline") == 7);
        CHECK(write_path(t, m, p + "online_policy", "auto-movable\n") == 13);
        CHECK(read_path(t, m, p + "online_policy") == "auto-movable\n");
        CHECK(write_path(t, m, p + "auto_movable_ratio", "0x10") == 4);
        CHECK(read_path(t, m, p + "auto_movable_ratio") == "16\n");
        CHECK(write_path(t, m, p + "auto_movable_ratio", "010\n") == 4);
        CHECK(read_path(t, m, p + "auto_movable_ratio") == "8\n");
        CHECK(write_path(t, m, p + "auto_movable_numa_aware", "n") == 1);
        CHECK(read_path(t, m, p + "auto_movable_numa_aware") == "N\n");
        CHECK(write_path(t, m, p + "auto_movable_numa_aware", "on\n") == 3);
        CHECK(read_path(t, m, p + "auto_movable_numa_aware") == "Y\n");
    }
}

TEST_CASE("probe: parse, alignment, overlap and range", "[tree][write][probe]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string probe = "devices/system/memory/probe";
    fsmodel::Stat st;
    REQUIRE(lookup_path(t, m, "devices/system/memory/memory136", st) == ENOENT);
    hotplug::Outcome out;
    CHECK(write_path(t, m, probe, "0x440000000\n", &out) == 12);  // 17 GiB: block 136
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].action == "add");
    CHECK(read_path(t, m, "devices/system/memory/memory136/state") == "offline\n");
    CHECK(read_path(t, m, "devices/system/memory/memory136/phys_index") == "00000088\n");
    CHECK(readlink_path(t, m, "devices/system/memory/memory136/node0") == "../../node/node0");
    CHECK(readlink_path(t, m, "devices/system/node/node0/memory136") ==
          "../../memory/memory136");
    CHECK(readlink_path(t, m, "bus/memory/devices/memory136") ==
          "../../../devices/system/memory/memory136");
    CHECK(write_path(t, m, probe, "18387828736") == 11);   // decimal, block 137
    CHECK(write_path(t, m, probe, "0212000000000") == 13);  // octal 0x450000000, block 138
    CHECK(lookup_path(t, m, "devices/system/memory/memory138", st) == 0);
    const std::pair<const char*, long> errors[] = {
        {"0x440000000", -EEXIST},          // present already
        {"0x240000000", -EEXIST},          // boot-time hot-added block 72
        {"0x440000001", -EINVAL},          // unaligned
        {"0x10000000000", -E2BIG},         // 1 TiB: outside every pluggable range
        {"zzz", -EINVAL},
        {"0x", -EINVAL},
        {"0x460000000\n\n", -EINVAL},
        {" 0x460000000", -EINVAL},
        {"0x1ffffffffffffffff", -ERANGE},  // kstrtoull's error as is
    };
    for (const auto& [data, result] : errors) {
        INFO(data);
        CHECK(write_path(t, m, probe, data) == result);
    }
    CHECK(m.blocks().count() == 131);
}

TEST_CASE("open, read and truncate permission checks", "[tree][open]") {
    auto m = build(full_spec());
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    struct Row {
        const char* path;
        int open_read;
        int open_write;
        int read;  // errno of read()
    };
    const Row rows[] = {
        {"devices/system/memory/memory5/state", 0, 0, 0},
        {"devices/system/memory/memory5/online", 0, 0, 0},
        {"devices/system/memory/memory5/phys_index", 0, EACCES, 0},
        {"devices/system/memory/memory5/valid_zones", 0, EACCES, 0},
        {"devices/system/memory/memory5/uevent", 0, 0, 0},
        {"devices/system/memory/memory5/power/autosuspend_delay_ms", 0, 0, EIO},
        {"devices/system/memory/power/autosuspend_delay_ms", 0, 0, EIO},
        {"devices/system/memory/block_size_bytes", 0, EACCES, 0},
        {"devices/system/memory/probe", EACCES, 0, EACCES},
        {"devices/system/memory/soft_offline_page", EACCES, 0, EACCES},
        {"devices/system/memory/hard_offline_page", EACCES, 0, EACCES},
        {"devices/system/memory/crash_hotplug", 0, EACCES, 0},
        {"devices/system/node/node0/compact", EACCES, 0, EACCES},
        {"devices/system/node/node0/reclaim", EACCES, 0, EACCES},
        {"devices/system/node/node0/meminfo", 0, EACCES, 0},
        {"bus/memory/uevent", EACCES, 0, EACCES},
        {"bus/memory/drivers_probe", EACCES, 0, EACCES},
        {"module/memory_hotplug/uevent", EACCES, 0, EACCES},
        {"module/memory_hotplug/parameters/memmap_on_memory", 0, EACCES, 0},
        {"module/memory_hotplug/parameters/online_policy", 0, 0, 0},
    };
    for (const auto& r : rows) {
        INFO(r.path);
        const uint64_t ino = ino_of(t, m, r.path);
        CHECK(t.check_open(m, ino, true, false) == r.open_read);
        CHECK(t.check_open(m, ino, false, true) == r.open_write);
        CHECK(t.check_open(m, ino, true, true) == (r.open_read ? r.open_read : r.open_write));
        CHECK(t.check_truncate(m, ino) == r.open_write);
        std::string out = "stale";
        CHECK(t.read(m, ino, out) == r.read);
        hotplug::Outcome o;
        if (r.open_write) CHECK(t.write(m, ino, "1", o) == -r.open_write);
        // A file without show reports a page as its size.
        if (r.read) CHECK(stat_of(t, m, r.path).size == 4096);
    }
    // Directories and links: nothing to refuse at open; reading a directory is EISDIR.
    std::string out;
    CHECK(t.check_open(m, ino_of(t, m, "devices/system/memory"), true, false) == 0);
    CHECK(t.check_open(m, ino_of(t, m, "bus/memory/devices/memory5"), true, false) == 0);
    CHECK(t.read(m, ino_of(t, m, "devices/system/memory"), out) == EISDIR);
    CHECK(t.read(m, ino_of(t, m, "bus/memory/devices/memory5"), out) == EACCES);
    CHECK(t.check_open(m, fsmodel::encode_inode(fsmodel::Scope::Block, 5000, 0), true,
                       false) == ENOENT);
    CHECK(read_path(t, m, "devices/system/memory/crash_hotplug") == "1\n");
}

TEST_CASE("memory failure files and bus files", "[tree][write]") {
    auto m = build(full_spec());
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string soft = "devices/system/memory/soft_offline_page";
    const std::string hard = "devices/system/memory/hard_offline_page";
    struct Row {
        std::string path;
        const char* data;
        long result;
    };
    const Row rows[] = {
        {soft, "0x28000000\n", 11},                // memory5, online
        {soft, "0x240000000", -EIO},               // memory72, offline
        {soft, "0x440000000", -ENXIO},             // no memory
        {soft, "xyz", -EINVAL},
        {soft, "0x1ffffffffffffffff", -EINVAL},    // any parse error is EINVAL here
        {hard, "0x240000000", -ENXIO},             // not online: outside kernel control
        {hard, "0x440000000", -ENXIO},
        {hard, "0x1ffffffffffffffff", -EINVAL},
        {"bus/memory/drivers_probe", "memory5\n", 8},
        {"bus/memory/drivers_probe", "memory5000", -ENODEV},
        {"bus/memory/drivers_probe", "memory", -ENODEV},
        {"bus/node/drivers_probe", "node1", 5},
        {"bus/node/drivers_probe", "node2", -ENODEV},
        {"bus/memory/drivers_autoprobe", "1", 1},
        {"devices/system/node/node0/compact", "1", 1},
        {"devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", "0\n", 2},
        {"devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", "x", -EINVAL},
    };
    for (const auto& r : rows) {
        INFO(r.path << " <- " << r.data);
        CHECK(write_path(t, m, r.path, r.data) == r.result);
    }
}

TEST_CASE("may_appear: only names that can come to exist are not cached as absent") {
    const Machine m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const uint64_t mem = ino_of(t, m, "devices/system/memory");
    const uint64_t block5 = ino_of(t, m, "devices/system/memory/memory5");
    const uint64_t node1 = ino_of(t, m, "devices/system/node/node1");
    const uint64_t devices = ino_of(t, m, "kernel/debug/hotplugfs/devices");
    // Hot-add creates memory<N> in memory/, nodeK/ and bus/memory/devices/.
    CHECK(t.may_appear(mem, "memory136"));
    CHECK(t.may_appear(node1, "memory136"));
    CHECK(t.may_appear(ino_of(t, m, "bus/memory/devices"), "memory136"));
    // A file shown only by configuration may be there on another machine: not cached.
    CHECK(t.may_appear(mem, "probe"));
    // Device directories come and go by name.
    CHECK(t.may_appear(devices, "dimm7"));
    // A block's node link is named by its node.
    CHECK(t.may_appear(block5, "node1"));
    // Names no declaration can produce.
    CHECK_FALSE(t.may_appear(mem, "nonexistent"));
    CHECK_FALSE(t.may_appear(block5, "nonexistent"));
    CHECK_FALSE(t.may_appear(block5, "driver"));
    CHECK_FALSE(t.may_appear(node1, "bogus"));
    CHECK_FALSE(t.may_appear(kRoot, "firmware"));
    // Whatever may_appear says, a name that exists is found.
    fsmodel::Stat st;
    CHECK(t.lookup(m, block5, "state", st) == 0);
    CHECK(t.lookup(m, block5, "nonexistent", st) == ENOENT);
}
