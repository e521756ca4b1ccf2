// devices/system/cpu, bus/cpu and nodeK/cpuN: the CPUs of the configured nodes.
#include <catch2/catch.hpp>

#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "fsmodel_support.h"

using namespace fstest;

namespace {

std::set<std::string> names(const fsmodel::Tree& t, const Machine& m, const std::string& dir) {
    std::set<std::string> out;
    for (const auto& [name, e] : list_map(t, m, dir)) out.insert(name);
    return out;
}

// Two nodes whose CPU ids leave a hole: 0-1 on node 0, 4-5 on node 1, and a CPU-less node 2.
MachineSpec holey_spec() {
    MachineSpec spec = hotplug::default_machine_spec();
    spec.nodes[0].cpus = {1, 0};
    spec.nodes[1].cpus = {5, 4};
    spec.nodes.push_back(hotplug::NodeSpec{2, {}, {}, 0});
    for (auto& n : spec.nodes) n.distance.clear();
    return spec;
}

}  // namespace

TEST_CASE("cpu: the root files follow the configured CPUs", "[cpu]") {
    SECTION("the built-in machine") {
        auto m = default_machine();
        fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
        CHECK(names(t, m, "devices/system/cpu") ==
              std::set<std::string>{"cpu0", "cpu1", "cpu2", "cpu3", "isolated", "kernel_max",
                                    "offline", "online", "possible", "power", "present", "uevent"});
        CHECK(read_path(t, m, "devices/system/cpu/online") == "0-3\n");
        CHECK(read_path(t, m, "devices/system/cpu/possible") == "0-3\n");
        CHECK(read_path(t, m, "devices/system/cpu/present") == "0-3\n");
        CHECK(read_path(t, m, "devices/system/cpu/offline") == "\n");
        CHECK(read_path(t, m, "devices/system/cpu/isolated") == "\n");
        CHECK(read_path(t, m, "devices/system/cpu/kernel_max") == "8191\n");
        CHECK(stat_of(t, m, "devices/system/cpu").nlink == 2 + 4 + 1);  // cpuN, power
    }
    SECTION("ids with a hole: possible is 0..highest, the hole is offline") {
        auto m = build(holey_spec());
        fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
        CHECK(read_path(t, m, "devices/system/cpu/online") == "0-1,4-5\n");
        CHECK(read_path(t, m, "devices/system/cpu/present") == "0-1,4-5\n");
        CHECK(read_path(t, m, "devices/system/cpu/possible") == "0-5\n");
        CHECK(read_path(t, m, "devices/system/cpu/offline") == "2-3\n");
        fsmodel::Stat st;
        CHECK(lookup_path(t, m, "devices/system/cpu/cpu2", st) == ENOENT);
        CHECK(lookup_path(t, m, "devices/system/cpu/cpu6", st) == ENOENT);
        CHECK(lookup_path(t, m, "bus/cpu/devices/cpu3", st) == ENOENT);
        CHECK(names(t, m, "bus/cpu/devices") ==
              std::set<std::string>{"cpu0", "cpu1", "cpu4", "cpu5"});
        CHECK(read_path(t, m, "devices/system/node/has_cpu") == "0-1\n");
        CHECK(read_path(t, m, "devices/system/node/node1/cpumap") == "30\n");
        CHECK(read_path(t, m, "devices/system/node/node2/cpumap") == "00\n");
        CHECK(read_path(t, m, "devices/system/node/node2/cpulist") == "\n");
    }
}

TEST_CASE("cpu: each CPU links to its node and its node links back", "[cpu]") {
    auto m = build(holey_spec());
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    CHECK(names(t, m, "devices/system/cpu/cpu4") ==
          std::set<std::string>{"node1", "online", "power", "subsystem", "topology", "uevent"});
    CHECK(readlink_path(t, m, "devices/system/cpu/cpu4/node1") == "../../node/node1");
    CHECK(readlink_path(t, m, "devices/system/cpu/cpu4/subsystem") == "../../../../bus/cpu");
    CHECK(readlink_path(t, m, "devices/system/node/node1/cpu4") == "../../cpu/cpu4");
    CHECK(readlink_path(t, m, "bus/cpu/devices/cpu5") == "../../../devices/system/cpu/cpu5");
    std::set<std::string> links0, links1, links2;
    for (const auto& [name, e] : list_map(t, m, "devices/system/node/node0"))
        if (name.rfind("cpu", 0) == 0 && name != "cpulist" && name != "cpumap") links0.insert(name);
    for (const auto& [name, e] : list_map(t, m, "devices/system/node/node1"))
        if (name.rfind("cpu", 0) == 0 && name != "cpulist" && name != "cpumap") links1.insert(name);
    for (const auto& [name, e] : list_map(t, m, "devices/system/node/node2"))
        if (name.rfind("cpu", 0) == 0 && name != "cpulist" && name != "cpumap") links2.insert(name);
    CHECK(links0 == std::set<std::string>{"cpu0", "cpu1"});
    CHECK(links1 == std::set<std::string>{"cpu4", "cpu5"});
    CHECK(links2.empty());
    fsmodel::Stat st;
    CHECK(lookup_path(t, m, "devices/system/node/node0/cpu4", st) == ENOENT);
    CHECK(lookup_path(t, m, "devices/system/cpu/cpu4/node0", st) == ENOENT);
    // The node links of a CPU and of the blocks share the node directory's listing.
    CHECK(lookup_path(t, m, "devices/system/node/node1/memory40", st) == 0);
}

TEST_CASE("cpu: topology, one package per node and one core per CPU", "[cpu]") {
    auto m = build(holey_spec());
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string topo = "devices/system/cpu/cpu5/topology/";
    CHECK(read_path(t, m, topo + "physical_package_id") == "1\n");
    CHECK(read_path(t, m, topo + "die_id") == "0\n");
    CHECK(read_path(t, m, topo + "core_id") == "1\n");
    CHECK(read_path(t, m, topo + "cluster_id") == "5\n");
    CHECK(read_path(t, m, topo + "thread_siblings") == "20\n");
    CHECK(read_path(t, m, topo + "thread_siblings_list") == "5\n");
    CHECK(read_path(t, m, topo + "core_cpus_list") == "5\n");
    CHECK(read_path(t, m, topo + "cluster_cpus") == "20\n");
    CHECK(read_path(t, m, topo + "core_siblings") == "30\n");
    CHECK(read_path(t, m, topo + "core_siblings_list") == "4-5\n");
    CHECK(read_path(t, m, topo + "package_cpus_list") == "4-5\n");
    CHECK(read_path(t, m, topo + "die_cpus") == "30\n");
    CHECK(read_path(t, m, "devices/system/cpu/cpu0/topology/core_id") == "0\n");
    CHECK(read_path(t, m, "devices/system/cpu/cpu0/topology/physical_package_id") == "0\n");
    CHECK(names(t, m, "devices/system/cpu/cpu0/topology").size() == 16);
}

TEST_CASE("cpu: masks span nr_cpu_ids in 32-bit groups", "[cpu]") {
    MachineSpec spec = hotplug::default_machine_spec();
    spec.nodes[0].cpus = {0, 1};
    spec.nodes[1].cpus = {39};
    auto m = build(spec);
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    CHECK(read_path(t, m, "devices/system/node/node0/cpumap") == "00,00000003\n");
    CHECK(read_path(t, m, "devices/system/node/node1/cpumap") == "80,00000000\n");
    CHECK(read_path(t, m, "devices/system/cpu/cpu39/topology/thread_siblings") == "80,00000000\n");
    CHECK(read_path(t, m, "devices/system/cpu/offline") == "2-38\n");
}

TEST_CASE("cpu: online files and stores", "[cpu][write]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    fsmodel::Stat st;
    CHECK(lookup_path(t, m, "devices/system/cpu/cpu0/online", st) == ENOENT);
    CHECK(read_path(t, m, "devices/system/cpu/cpu3/online") == "1\n");
    CHECK(stat_of(t, m, "devices/system/cpu/cpu3/online").mode == (S_IFREG | 0644));
    CHECK(write_path(t, m, "devices/system/cpu/cpu3/online", "1\n") == 2);
    CHECK(write_path(t, m, "devices/system/cpu/cpu3/online", "0\n") == -EBUSY);
    CHECK(write_path(t, m, "devices/system/cpu/cpu3/online", "x") == -EINVAL);
    CHECK(read_path(t, m, "devices/system/cpu/cpu3/online") == "1\n");
    CHECK(write_path(t, m, "devices/system/cpu/online", "0") == -EACCES);
    CHECK(write_path(t, m, "bus/cpu/drivers_probe", "cpu2") == 4);
    CHECK(write_path(t, m, "bus/cpu/drivers_probe", "cpu9") == -ENODEV);

    Outcome out;
    REQUIRE(write_path(t, m, "devices/system/cpu/cpu2/uevent", "change", &out) == 6);
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].action == "change");
    CHECK(out.events[0].devpath == "/devices/system/cpu/cpu2");
    CHECK(out.events[0].subsystem == "cpu");

    // Architectures that can take CPU 0 offline give it an online file too.
    MachineSpec arm = hotplug::default_machine_spec();
    arm.arch = hotplug::Arch::Arm64;
    auto m2 = build(arm);
    CHECK(lookup_path(t, m2, "devices/system/cpu/cpu0/online", st) == 0);
}
