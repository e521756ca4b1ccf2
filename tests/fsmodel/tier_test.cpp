// devices/virtual/memory_tiering, bus/memory_tiering and kernel/mm/numa.
#include <catch2/catch.hpp>

#include <cerrno>
#include <set>
#include <string>

#include "fsmodel_support.h"

using namespace fstest;

namespace {

constexpr const char* kTiering = "devices/virtual/memory_tiering";

std::set<std::string> names(const fsmodel::Tree& t, const Machine& m, const std::string& dir) {
    std::set<std::string> out;
    for (const auto& [name, e] : list_map(t, m, dir)) out.insert(name);
    return out;
}

// The built-in machine plus a CPU-less node 2 of slower memory (adistance 1024, tier 8):
// 1 GiB at 49 GiB, online (blocks 392-399).
MachineSpec cxl_spec() {
    MachineSpec spec = hotplug::default_machine_spec();
    spec.nodes.push_back(hotplug::NodeSpec{2, {}, {}, 0});
    for (auto& n : spec.nodes) n.distance.clear();
    spec.nodes[2].adistance = 1024;
    spec.memory.push_back(hotplug::MemoryRangeSpec{49 * GiB, 1 * GiB, 2, true, false, {}});
    return spec;
}

}  // namespace

TEST_CASE("tiers: the built-in machine has DRAM's memory_tier4 only", "[tiers]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    CHECK(names(t, m, kTiering) == std::set<std::string>{"memory_tier4", "power", "uevent"});
    CHECK(read_path(t, m, "devices/virtual/memory_tiering/memory_tier4/nodelist") == "0-1\n");
    CHECK(read_path(t, m, "devices/virtual/memory_tiering/memory_tier4/uevent") == "");
    CHECK(readlink_path(t, m, "devices/virtual/memory_tiering/memory_tier4/subsystem") ==
          "../../../../bus/memory_tiering");
    CHECK(names(t, m, "bus/memory_tiering/devices") == std::set<std::string>{"memory_tier4"});
    CHECK(readlink_path(t, m, "bus/memory_tiering/devices/memory_tier4") ==
          "../../../devices/virtual/memory_tiering/memory_tier4");
    CHECK(stat_of(t, m, kTiering).nlink == 4);  // memory_tier4, power
    fsmodel::Stat st;
    for (const char* path : {"devices/virtual/memory_tiering/memory_tier5",
                             "devices/virtual/memory_tiering/memory_tier04",
                             "bus/memory_tiering/devices/memory_tier8"})
        CHECK(lookup_path(t, m, path, st) == ENOENT);
}

TEST_CASE("tiers: a CPU-less node with its adistance is on a tier of its own", "[tiers]") {
    auto m = build(cxl_spec());
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    CHECK(names(t, m, kTiering) ==
          std::set<std::string>{"memory_tier4", "memory_tier8", "power", "uevent"});
    CHECK(read_path(t, m, "devices/virtual/memory_tiering/memory_tier4/nodelist") == "0-1\n");
    CHECK(read_path(t, m, "devices/virtual/memory_tiering/memory_tier8/nodelist") == "2\n");
    CHECK(read_path(t, m, "devices/system/node/has_cpu") == "0-1\n");
    CHECK(read_path(t, m, "devices/system/node/has_memory") == "0-2\n");
    CHECK(write_path(t, m, "bus/memory_tiering/drivers_probe", "memory_tier8") == 12);
    CHECK(write_path(t, m, "bus/memory_tiering/drivers_probe", "memory_tier5") == -ENODEV);
    Outcome out;
    REQUIRE(write_path(t, m, "devices/virtual/memory_tiering/memory_tier8/uevent", "change",
                       &out) == 6);
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].devpath == "/devices/virtual/memory_tiering/memory_tier8");
    CHECK(out.events[0].subsystem == "memory_tiering");
}

TEST_CASE("tiers: a tier leaves the listings with its last node's memory", "[tiers][refresh]") {
    auto m = build(cxl_spec());
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const uint64_t tiering = ino_of(t, m, kTiering);
    const uint64_t bus = ino_of(t, m, "bus/memory_tiering/devices");
    const uint64_t tier8 = ino_of(t, m, "devices/virtual/memory_tiering/memory_tier8");
    const uint64_t nodelist = ino_of(t, m, "devices/virtual/memory_tiering/memory_tier8/nodelist");
    const uint64_t nodelist4 = ino_of(t, m, "devices/virtual/memory_tiering/memory_tier4/nodelist");
    const int64_t listed = stat_of(t, m, kTiering).mtime_ns;

    for (uint64_t id = 392; id < 399; ++id)
        REQUIRE(write_path(t, m, "devices/system/memory/memory" + std::to_string(id) + "/state",
                           "offline") == 7);
    CHECK(read_path(t, m, "devices/virtual/memory_tiering/memory_tier8/nodelist") == "2\n");
    Outcome out;
    REQUIRE(write_path(t, m, "devices/system/memory/memory399/state", "offline", &out) == 7);
    fsmodel::Invalidations inval;
    t.refresh(m, out.changes, kBoot + 100, inval);

    fsmodel::Stat st;
    CHECK(lookup_path(t, m, "devices/virtual/memory_tiering/memory_tier8", st) == ENOENT);
    CHECK(t.getattr(m, tier8, st) == ENOENT);
    CHECK(names(t, m, "bus/memory_tiering/devices") == std::set<std::string>{"memory_tier4"});
    CHECK(read_path(t, m, "devices/system/node/has_memory") == "0-1\n");
    CHECK(stat_of(t, m, kTiering).mtime_ns > listed);
    // The kernel drops its entries for both names and re-reads what it cached of the tier.
    std::set<std::pair<uint64_t, std::string>> removed;
    for (const auto& e : inval.removed_entries) removed.insert({e.parent, e.name});
    CHECK(removed.count({tiering, "memory_tier8"}) == 1);
    CHECK(removed.count({bus, "memory_tier8"}) == 1);
    CHECK(removed.size() == 2);
    const std::set<uint64_t> inodes(inval.inodes.begin(), inval.inodes.end());
    CHECK(inodes.count(nodelist) == 1);
    CHECK(inodes.count(nodelist4) == 1);
    CHECK(inodes.count(tiering) == 1);
    CHECK(inodes.count(bus) == 1);

    // Its memory back: the tier is back under the same numbers.
    REQUIRE(write_path(t, m, "devices/system/memory/memory395/state", "online_movable") == 14);
    CHECK(ino_of(t, m, "devices/virtual/memory_tiering/memory_tier8") == tier8);
    CHECK(read_path(t, m, "devices/virtual/memory_tiering/memory_tier8/nodelist") == "2\n");
}

TEST_CASE("tiers: kernel/mm/numa/demotion_enabled", "[tiers][write]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string path = "kernel/mm/numa/demotion_enabled";
    CHECK(stat_of(t, m, path).mode == (S_IFREG | 0644));
    CHECK(read_path(t, m, path) == "false\n");
    CHECK(write_path(t, m, path, "1\n") == 2);
    CHECK(read_path(t, m, path) == "true\n");
    CHECK(write_path(t, m, path, "maybe") == -EINVAL);
    CHECK(read_path(t, m, path) == "true\n");
    Outcome out;
    CHECK(write_path(t, m, path, "off", &out) == 3);
    CHECK(out.changes.params);
    CHECK(read_path(t, m, path) == "false\n");
}
