// Config loader: every rejected config names the exact JSON value and why; every shipped
// example loads and builds a Machine.
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include "config/config_loader.h"
#include "hotplug/machine.h"

using hotplugfs::config::ConfigError;
using hotplugfs::config::load_config_file;
using hotplugfs::config::load_config_text;

namespace {

const std::string kExamples = std::string(HOTPLUGFS_SOURCE_DIR) + "/examples/";

hotplug::MachineSpec load_ok(const std::string& text) {
    auto result = load_config_text(text, "test.json");
    if (auto* error = std::get_if<ConfigError>(&result)) FAIL(error->message());
    return std::get<hotplug::MachineSpec>(result);
}

ConfigError load_bad(const std::string& text) {
    auto result = load_config_text(text, "test.json");
    REQUIRE(std::holds_alternative<ConfigError>(result));
    return std::get<ConfigError>(result);
}

hotplug::Machine build(const hotplug::MachineSpec& spec) {
    auto machine = hotplug::Machine::build(spec);
    REQUIRE(machine.ok());
    return std::move(*machine);
}

// One boot range of 1 GiB at 0 on node 0, for cases that need present memory.
const std::string kOneGig = R"("memory": [{"start": 0, "size": "1G"}])";

// Memory 0-1 GiB and 4-5 GiB, pluggable space 8-16 GiB: the frame of the device cases.
const std::string kFrame = R"("memory": [{"start": 0, "size": "1G"}, {"start": "4G", "size": "1G"}],
    "pluggable": [{"start": "8G", "size": "8G"}])";
std::string with_devices(const std::string& devices) {
    return "{" + kFrame + R"(, "devices": )" + devices + "}";
}
std::string with_faults(const std::string& faults) {
    return "{" + kFrame + R"(, "devices": [{"name": "d0", "start": "8G", "size": "1G",
        "plugged": "1G"}], "block_faults": )" + faults + "}";
}

struct BadCase {
    const char* what;
    std::string text;
    std::string path;
    std::string reason;  // a substring of ConfigError::reason
};

const std::vector<BadCase> kBadCases = {
    // document and syntax
    {"syntax", R"({"arch": })", "line 1, column 10", "syntax error"},
    {"empty text", "", "line 1, column 1", "unexpected end of input"},
    {"trailing garbage", "{} x", "line 1, column 4", "syntax error"},
    {"root not an object", "[1]", "/", "expected an object"},
    {"unknown top-level key", R"({"arhc": "x86_64"})", "/arhc", "unknown key \"arhc\""},
    {"repeated key", R"({"arch": "x86_64", "arch": "arm64"})", "/arch", "duplicate key"},
    {"repeated nested key", R"({"nodes": [{}, {"id": 1, "cpus": [], "cpus": []}]})",
     "/nodes/1/cpus", "duplicate key"},
    {"key escaped in pointer", R"({"a/b~": 1})", "/a~1b~0", "unknown key"},
    {"description type", R"({"description": 5})", "/description", "expected a string"},
    // arch and block size
    {"arch word", R"({"arch": "sparc"})", "/arch", "expected one of x86_64, arm64, ppc64, s390x"},
    {"arch type", R"({"arch": 64})", "/arch", "expected a string, got 64"},
    {"virt word", R"({"virt": "vbox"})", "/virt", "unknown value \"vbox\"; expected one of none, kvm"},
    {"virt type", R"({"virt": true})", "/virt", "expected a string, got true"},
    {"block size power of two", R"({"block_size": "384M"})", "/block_size", "power of two"},
    {"block size section", R"({"arch": "s390x", "block_size": "128M"})", "/block_size",
     "multiple of the s390x section size 0x10000000"},
    {"block size suffix", R"({"block_size": "128Q"})", "/block_size", "is not a size"},
    {"block size empty", R"({"block_size": ""})", "/block_size", "is not a size"},
    {"block size hex digits", R"({"block_size": "0x8g"})", "/block_size", "is not a size"},
    {"block size negative", R"({"block_size": -1})", "/block_size", "expected a size"},
    {"block size float", R"({"block_size": 1.5})", "/block_size", "expected a size"},
    {"size overflow", R"({"block_size": "99999999T"})", "/block_size", "does not fit in 64 bits"},
    {"hex overflow", R"({"block_size": "0x10000000000000000"})", "/block_size",
     "does not fit in 64 bits"},
    // nodes
    {"nodes type", R"({"nodes": {}})", "/nodes", "expected an array"},
    {"no nodes", R"({"nodes": []})", "/nodes", "at least one node"},
    {"node unknown key", R"({"nodes": [{"cpu": [0]}]})", "/nodes/0/cpu", "unknown key"},
    {"node id order", R"({"nodes": [{"id": 1}]})", "/nodes/0/id", "must equal its position 0"},
    {"node id type", R"({"nodes": [{"id": "0"}]})", "/nodes/0/id", "non-negative integer"},
    {"distance length", R"({"nodes": [{"distance": [10, 20]}]})", "/nodes/0/distance",
     "must list 1 distance"},
    {"distance value", R"({"nodes": [{}, {"distance": [20, 256]}]})", "/nodes/1/distance/1",
     "at most 255"},
    {"cpulist syntax", R"({"nodes": [{"cpus": "0-"}]})", "/nodes/0/cpus", "bad id list"},
    {"cpulist reversed", R"({"nodes": [{"cpus": "3-1"}]})", "/nodes/0/cpus", "bad id list"},
    {"cpulist trailing comma", R"({"nodes": [{"cpus": "1,"}]})", "/nodes/0/cpus", "bad id list"},
    {"cpu array element", R"({"nodes": [{"cpus": [0, -1]}]})", "/nodes/0/cpus/1",
     "non-negative integer"},
    {"cpu shared", R"({"nodes": [{"cpus": "0-3"}, {"cpus": [3]}]})", "/nodes/1/cpus",
     "cpu 3 already belongs to node 0"},
    {"cpu id too large", R"({"nodes": [{"cpus": "0-9000"}]})", "/nodes/0/cpus", "out of range"},
    {"kernel_used KiB", R"({"nodes": [{"kernel_used": 1000}]})", "/nodes/0/kernel_used",
     "whole number of KiB"},
    {"adistance negative", R"({"nodes": [{"adistance": -1}]})", "/nodes/0/adistance",
     "non-negative integer"},
    {"adistance too large", R"({"nodes": [{"adistance": 2147483648}]})", "/nodes/0/adistance",
     "out of range"},
    // memory ranges
    {"memory type", R"({"memory": {"start": 0}})", "/memory", "expected an array"},
    {"memory missing start", R"({"memory": [{"size": "1G"}]})", "/memory/0",
     "missing required key \"start\""},
    {"memory unknown key", R"({"memory": [{"start": 0, "size": "1G", "sise": 1}]})",
     "/memory/0/sise", "unknown key"},
    {"memory start aligned", R"({"memory": [{"start": "64M", "size": "1G"}]})", "/memory/0/start",
     "not a multiple of the block size 0x8000000"},
    {"memory size aligned", R"({"memory": [{"start": 0, "size": "1G"}, {"start": "2G",
     "size": "64M"}]})",
     "/memory/1/size", "not a multiple of the block size"},
    {"memory size zero", R"({"memory": [{"start": 0, "size": 0}]})", "/memory/0/size",
     "must not be empty"},
    {"memory wraps", R"({"memory": [{"start": "0xfffffffff8000000", "size": "256M"}]})",
     "/memory/0/size", "wraps around"},
    {"memory start too high", R"({"memory": [{"start": "0x8000000000000000", "size": "128M"}]})",
     "/memory/0/start", "at or above block id"},
    {"memory end too high", R"({"memory": [{"start": 0, "size": "8P"}]})", "/memory/0/size",
     "reaches above block id"},
    {"memory overlap", R"({"memory": [{"start": 0, "size": "1G"}, {"start": "4G", "size": "1G"},
     {"start": "512M", "size": "1G"}]})",
     "/memory/2", "overlaps /memory/0"},
    {"memory contained overlap", R"({"memory": [{"start": 0, "size": "8G"},
     {"start": "1G", "size": "1G"}, {"start": "4G", "size": "1G"}]})",
     "/memory/1", "overlaps /memory/0"},
    {"memory node missing", R"({"memory": [{"start": 0, "size": "1G", "node": 1}]})",
     "/memory/0/node", "node 1 does not exist (nodes are 0..0)"},
    {"memory state word", R"({"memory": [{"start": 0, "size": "1G", "state": "on"}]})",
     "/memory/0/state", "expected one of offline, online"},
    {"memory hotplugged type", R"({"memory": [{"start": 0, "size": "1G", "hotplugged": 1}]})",
     "/memory/0/hotplugged", "expected true or false"},
    {"memory zone word", R"({"memory": [{"start": 0, "size": "1G", "zone": "Highmem"}]})",
     "/memory/0/zone", "expected one of DMA, DMA32, Normal, Movable"},
    {"zone on offline memory",
     R"({"memory": [{"start": 0, "size": "1G", "state": "offline", "zone": "Normal"}]})",
     "/memory/0/zone", "only online memory has a zone"},
    {"zone missing on arch",
     R"({"arch": "ppc64", "memory": [{"start": 0, "size": "1G", "zone": "DMA32"}]})",
     "/memory/0/zone", "ppc64 has no DMA32 zone"},
    {"zone above its limit", R"({"memory": [{"start": "4G", "size": "1G", "zone": "DMA32"}]})",
     "/memory/0/zone", "above the DMA32 limit 0x100000000"},
    {"storage increment", R"({"arch": "s390x", "storage_increment": "384M"})",
     "/storage_increment", "not a power of two"},
    {"removable type", R"({"removable": 1})", "/removable", ""},
    // pluggable ranges
    {"pluggable overlap", R"({"pluggable": [{"start": "8G", "size": "8G"},
     {"start": "12G", "size": "8G"}]})",
     "/pluggable/1", "overlaps /pluggable/0"},
    {"pluggable unknown key", R"({"pluggable": [{"start": 0, "size": "1G", "zone": "Normal"}]})",
     "/pluggable/0/zone", "unknown key"},
    {"pluggable node", R"({"pluggable": [{"start": 0, "size": "1G", "node": 2}]})",
     "/pluggable/0/node", "does not exist"},
    // block-id lists
    {"hole not present", "{" + kOneGig + R"(, "holes": [3, 100]})", "/holes/1",
     "block 100 is not present"},
    {"unmovable list not present", "{" + kOneGig + R"(, "unmovable": "0-9"})", "/unmovable",
     "block 8 is not present"},
    {"unmovable type", "{" + kOneGig + R"(, "unmovable": 3})", "/unmovable",
     "expected an array of ids"},
    {"hole in hot-added memory",
     R"({"memory": [{"start": 0, "size": "1G", "hotplugged": true}], "holes": [1]})", "/holes/0",
     "hot-added memory"},
    {"multi_zone offline", R"({"memory": [{"start": 0, "size": "1G", "state": "offline"}],
     "multi_zone": [2]})",
     "/multi_zone/0", "block 2 is offline"},
    // devices
    {"devices type", with_devices("{}"), "/devices", "expected an array"},
    {"device missing name", with_devices(R"([{"start": "8G", "size": "1G"}])"), "/devices/0",
     "missing required key \"name\""},
    {"device missing start", with_devices(R"([{"name": "d", "size": "1G"}])"), "/devices/0",
     "missing required key \"start\""},
    {"device name type", with_devices(R"([{"name": 1, "start": "8G", "size": "1G"}])"),
     "/devices/0/name", "expected a string"},
    {"device name empty", with_devices(R"([{"name": "", "start": "8G", "size": "1G"}])"),
     "/devices/0/name", "must not be empty"},
    {"device name slash", with_devices(R"([{"name": "a/b", "start": "8G", "size": "1G"}])"),
     "/devices/0/name", "may only hold letters, digits"},
    {"device name dot-dot", with_devices(R"([{"name": "..", "start": "8G", "size": "1G"}])"),
     "/devices/0/name", "not a usable device name"},
    {"device unknown key",
     with_devices(R"([{"name": "d", "start": "8G", "size": "1G", "plug": "1G"}])"),
     "/devices/0/plug", "unknown key \"plug\""},
    {"device kind word",
     with_devices(R"([{"name": "d", "kind": "nvdimm", "start": "8G", "size": "1G"}])"),
     "/devices/0/kind", "expected one of dimm, virtio-mem"},
    {"device node", with_devices(R"([{"name": "d", "node": 1, "start": "8G", "size": "1G"}])"),
     "/devices/0/node", "node 1 does not exist"},
    {"device start aligned", with_devices(R"([{"name": "d", "start": "0x200100000",
     "size": "1G"}])"), "/devices/0/start", "not a multiple of the block size"},
    {"device size zero", with_devices(R"([{"name": "d", "start": "8G", "size": 0}])"),
     "/devices/0/size", "must not be empty"},
    {"device name repeated", with_devices(R"([{"name": "d", "start": "8G", "size": "1G"},
     {"name": "d", "start": "10G", "size": "1G"}])"),
     "/devices/1/name", "device name \"d\" is already used by /devices/0"},
    {"dimm with unit", with_devices(R"([{"name": "d", "start": "8G", "size": "1G",
     "unit": "128M"}])"), "/devices/0/unit", "only virtio-mem devices have a unit"},
    {"dimm half plugged", with_devices(R"([{"name": "d", "start": "8G", "size": "1G",
     "plugged": "512M"}])"), "/devices/0/plugged", "a DIMM is plugged whole: 0 or its size"},
    {"virtio unit not blocks", with_devices(R"([{"name": "v", "kind": "virtio-mem",
     "start": "8G", "size": "1G", "unit": "64M"}])"),
     "/devices/0/unit", "is not a non-zero multiple of the block size 0x8000000"},
    {"virtio unit zero", with_devices(R"([{"name": "v", "kind": "virtio-mem",
     "start": "8G", "size": "1G", "unit": 0}])"), "/devices/0/unit", "non-zero multiple"},
    {"virtio size not units", with_devices(R"([{"name": "v", "kind": "virtio-mem",
     "start": "0x210000000", "size": "1G", "unit": "384M"}])"),
     "/devices/0/size", "is not a multiple of the unit 0x18000000"},
    {"virtio start not unit aligned", with_devices(R"([{"name": "v", "kind": "virtio-mem",
     "start": "0x208000000", "size": "1G", "unit": "256M"}])"),
     "/devices/0/start", "is not a multiple of the unit 0x10000000"},
    {"virtio plugged not units", with_devices(R"([{"name": "v", "kind": "virtio-mem",
     "start": "8G", "size": "1G", "unit": "256M", "plugged": "128M"}])"),
     "/devices/0/plugged", "is not a multiple of the unit"},
    {"virtio plugged too much", with_devices(R"([{"name": "v", "kind": "virtio-mem",
     "start": "8G", "size": "1G", "unit": "256M", "plugged": "2G"}])"),
     "/devices/0/plugged", "more than the device size 0x40000000"},
    {"device outside pluggable", with_devices(R"([{"name": "d", "start": "16G", "size": "1G"}])"),
     "/devices/0", "does not lie inside one /pluggable range"},
    {"device over memory", "{" + kFrame.substr(0, kFrame.find("],")) +
     R"(, {"start": "9G", "size": "1G", "hotplugged": true, "state": "offline"}],
     "pluggable": [{"start": "8G", "size": "8G"}],
     "devices": [{"name": "d", "start": "8G", "size": "2G"}]})",
     "/devices/0", "overlaps /memory/2 [0x240000000, 0x280000000)"},
    {"devices overlap", with_devices(R"([{"name": "a", "start": "8G", "size": "2G"},
     {"name": "b", "start": "9G", "size": "1G"}])"), "/devices/1", "overlaps /devices/0"},
    // block faults
    {"block_faults type", with_faults("{}"), "/block_faults", "expected an array"},
    {"block fault missing block", with_faults(R"([{"migration_ms": 5}])"), "/block_faults/0",
     "missing required key \"block\""},
    {"block fault unknown key", with_faults(R"([{"block": 64, "delay": 5}])"),
     "/block_faults/0/delay", "unknown key"},
    {"block fault not present", with_faults(R"([{"block": 64}, {"block": 72}])"),
     "/block_faults/1/block", "block 72 is not present"},
    {"block fault too large", with_faults(R"([{"block": 99999999999}])"),
     "/block_faults/0/block", "out of range"},
    {"block fault repeated", with_faults(R"([{"block": 64}, {"block": 65}, {"block": 64}])"),
     "/block_faults/2/block", "block 64 already has an entry at /block_faults/0"},
    {"migration negative", with_faults(R"([{"block": 64, "migration_ms": -2}])"),
     "/block_faults/0/migration_ms", "or -1 (never finishes), got -2"},
    {"migration string", with_faults(R"([{"block": 64, "migration_ms": "5"}])"),
     "/block_faults/0/migration_ms", "expected milliseconds"},
    {"migration float", with_faults(R"([{"block": 64, "migration_ms": 1.5}])"),
     "/block_faults/0/migration_ms", "expected milliseconds"},
    {"block fault unmovable type", with_faults(R"([{"block": 64, "unmovable": "yes"}])"),
     "/block_faults/0/unmovable", "expected true or false"},
    {"hole in device memory", "{" + kFrame + R"(, "devices": [{"name": "d0", "start": "8G",
     "size": "1G", "plugged": "1G"}], "holes": [64]})", "/holes/0", "hot-added memory"},
    // parameters
    {"parameters type", R"({"parameters": []})", "/parameters", "expected an object"},
    {"parameters unknown key", R"({"parameters": {"auto_online": "online"}})",
     "/parameters/auto_online", "unknown key"},
    {"auto_online_blocks word", R"({"parameters": {"auto_online_blocks": "online-movable"}})",
     "/parameters/auto_online_blocks", "offline, online, online_kernel, online_movable"},
    {"online_policy word", R"({"parameters": {"online_policy": "auto_movable"}})",
     "/parameters/online_policy", "contig-zones, auto-movable"},
    {"ratio negative", R"({"parameters": {"auto_movable_ratio": -1}})",
     "/parameters/auto_movable_ratio", "non-negative integer"},
    {"ratio too large", R"({"parameters": {"auto_movable_ratio": 4294967296}})",
     "/parameters/auto_movable_ratio", "at most 4294967295"},
    {"bool as word", R"({"parameters": {"movable_node": "yes"}})", "/parameters/movable_node",
     "expected true or false"},
    {"memmap word", R"({"parameters": {"memmap_on_memory": true}})", "/parameters/memmap_on_memory",
     "expected a string"},
    {"crash_hotplug type", R"({"parameters": {"crash_hotplug": null}})",
     "/parameters/crash_hotplug", "expected true or false, got null"},
};

bool same_spec(const hotplug::MachineSpec& a, const hotplug::MachineSpec& b) {
    auto node_eq = [](const hotplug::NodeSpec& x, const hotplug::NodeSpec& y) {
        return x.id == y.id && x.cpus == y.cpus && x.distance == y.distance &&
               x.kernel_used_kb == y.kernel_used_kb && x.adistance == y.adistance;
    };
    auto mem_eq = [](const hotplug::MemoryRangeSpec& x, const hotplug::MemoryRangeSpec& y) {
        return x.start == y.start && x.size == y.size && x.node == y.node && x.online == y.online &&
               x.hotplugged == y.hotplugged && x.zone == y.zone;
    };
    auto plug_eq = [](const hotplug::PluggableRangeSpec& x, const hotplug::PluggableRangeSpec& y) {
        return x.start == y.start && x.size == y.size && x.node == y.node;
    };
    const auto &p = a.params, &q = b.params;
    const bool params_eq =
        p.auto_online_blocks == q.auto_online_blocks && p.online_policy == q.online_policy &&
        p.auto_movable_ratio == q.auto_movable_ratio &&
        p.auto_movable_numa_aware == q.auto_movable_numa_aware &&
        p.memmap_on_memory == q.memmap_on_memory && p.movable_node == q.movable_node &&
        p.probe == q.probe && p.memory_failure == q.memory_failure &&
        p.crash_hotplug == q.crash_hotplug;
    auto dev_eq = [](const hotplug::DeviceSpec& x, const hotplug::DeviceSpec& y) {
        return x.name == y.name && x.kind == y.kind && x.node == y.node && x.start == y.start &&
               x.size == y.size && x.unit == y.unit && x.plugged == y.plugged;
    };
    auto fault_eq = [](const hotplug::BlockFaultSpec& x, const hotplug::BlockFaultSpec& y) {
        return x.block == y.block && x.migration_ms == y.migration_ms &&
               x.unmovable == y.unmovable;
    };
    return a.arch == b.arch && a.block_size == b.block_size &&
           std::equal(a.devices.begin(), a.devices.end(), b.devices.begin(), b.devices.end(),
                      dev_eq) &&
           std::equal(a.block_faults.begin(), a.block_faults.end(), b.block_faults.begin(),
                      b.block_faults.end(), fault_eq) &&
           std::equal(a.nodes.begin(), a.nodes.end(), b.nodes.begin(), b.nodes.end(), node_eq) &&
           std::equal(a.memory.begin(), a.memory.end(), b.memory.begin(), b.memory.end(), mem_eq) &&
           std::equal(a.pluggable.begin(), a.pluggable.end(), b.pluggable.begin(),
                      b.pluggable.end(), plug_eq) &&
           a.holes == b.holes && a.unmovable == b.unmovable && a.multi_zone == b.multi_zone &&
           params_eq;
}

}  // namespace

TEST_CASE("bad configs name the offending value and the reason", "[config]") {
    for (const BadCase& bad : kBadCases) {
        DYNAMIC_SECTION(bad.what) {
            const ConfigError error = load_bad(bad.text);
            INFO(error.message());
            CHECK(error.file == "test.json");
            CHECK(error.json_path == bad.path);
            CHECK_THAT(error.reason, Catch::Contains(bad.reason));
        }
    }
}

TEST_CASE("error messages are one line: file, path, reason", "[config]") {
    const ConfigError error = load_bad(R"({"memory": [{"start": 0, "size": "1G", "node": 3}]})");
    CHECK(error.message() == "test.json: /memory/0/node: node 3 does not exist (nodes are 0..0)");
    const ConfigError syntax = load_bad("{\n  \"arch\": \"x86_64\",\n  x\n}");
    CHECK(syntax.json_path == "line 3, column 3");
    CHECK(syntax.message().find('\n') == std::string::npos);
    CHECK(syntax.message().rfind("test.json: line 3, column 3: syntax error", 0) == 0);
}

TEST_CASE("an unreadable file is reported without a JSON path", "[config]") {
    auto result = load_config_file(kExamples + "does-not-exist.json");
    REQUIRE(std::holds_alternative<ConfigError>(result));
    const auto& error = std::get<ConfigError>(result);
    CHECK(error.json_path.empty());
    CHECK_THAT(error.message(), Catch::Contains("does-not-exist.json: cannot open: No such file"));
    auto directory = load_config_file(kExamples);
    REQUIRE(std::holds_alternative<ConfigError>(directory));
    CHECK_THAT(std::get<ConfigError>(directory).reason, Catch::Contains("cannot read"));
}

TEST_CASE("an empty object takes every default", "[config]") {
    const hotplug::MachineSpec spec = load_ok("{}");
    hotplug::MachineSpec expected;
    expected.nodes = {hotplug::NodeSpec{}};
    CHECK(same_spec(spec, expected));
}

TEST_CASE("the block size defaults to the section size where 128 MiB is too small", "[config]") {
    CHECK(load_ok(R"({"arch": "s390x"})").block_size == 256ull << 20);
    CHECK(load_ok(R"({"arch": "ppc64"})").block_size == 128ull << 20);
}

TEST_CASE("sizes and addresses accept integers, hex and suffixes", "[config]") {
    const std::vector<std::pair<std::string, uint64_t>> sizes = {
        {"134217728", 128ull << 20},     {"\"134217728\"", 128ull << 20},
        {"\"0x8000000\"", 128ull << 20}, {"\"0X8000000\"", 128ull << 20},
        {"\"131072K\"", 128ull << 20},   {"\"128M\"", 128ull << 20},
        {"\"128m\"", 128ull << 20},      {"\"2G\"", 2ull << 30},
        {"\"1T\"", 1ull << 40},          {"\"1P\"", 1ull << 50},
    };
    for (const auto& [text, bytes] : sizes) {
        INFO(text);
        CHECK(load_ok(R"({"block_size": )" + text + "}").block_size == bytes);
    }
    const auto spec = load_ok(R"({"arch": "ppc64", "block_size": "16M",
        "memory": [{"start": "0x1000000", "size": "16T"}]})");
    CHECK(spec.memory.at(0).start == 16ull << 20);
    CHECK(spec.memory.at(0).size == 16ull << 40);
}

TEST_CASE("id lists accept arrays and kernel list strings", "[config]") {
    const auto spec = load_ok(R"({
        "nodes": [{"cpus": "0-2,5,7-8"}, {"cpus": [3, 4]}, {"cpus": ""}],
        "memory": [{"start": 0, "size": "4G"}],
        "unmovable": "1-3,9", "holes": [4, 5], "multi_zone": "6"})");
    CHECK(spec.nodes.at(0).cpus == std::vector<int>{0, 1, 2, 5, 7, 8});
    CHECK(spec.nodes.at(1).cpus == std::vector<int>{3, 4});
    CHECK(spec.nodes.at(2).cpus.empty());
    CHECK(spec.unmovable == std::vector<uint64_t>{1, 2, 3, 9});
    CHECK(spec.holes == std::vector<uint64_t>{4, 5});
    CHECK(spec.multi_zone == std::vector<uint64_t>{6});
}

TEST_CASE("removable and the storage increment reach the spec", "[config]") {
    CHECK(load_ok("{}").removable);
    CHECK(load_ok("{}").storage_increment == 0);
    const auto spec = load_ok(R"({"arch": "s390x", "removable": false,
        "storage_increment": "256M"})");
    CHECK(!spec.removable);
    CHECK(spec.storage_increment == 256ull << 20);
}

TEST_CASE("node ids default to their position and distances default empty", "[config]") {
    const auto spec = load_ok(R"({"nodes": [{}, {"id": 1, "kernel_used": "1M"}]})");
    REQUIRE(spec.nodes.size() == 2);
    CHECK(spec.nodes[0].id == 0);
    CHECK(spec.nodes[1].id == 1);
    CHECK(spec.nodes[1].kernel_used_kb == 1024);
    CHECK(spec.nodes[1].distance.empty());
    CHECK_FALSE(spec.nodes[1].adistance);
}

TEST_CASE("a node's adistance maps onto the spec", "[config]") {
    const auto spec = load_ok(R"({"nodes": [{"cpus": "0-1"}, {"adistance": 1024}]})");
    CHECK_FALSE(spec.nodes[0].adistance);
    CHECK(spec.nodes[1].adistance == 1024);
}

TEST_CASE("memory range options map onto the spec", "[config]") {
    const auto spec = load_ok(R"({"nodes": [{}, {}], "memory": [
        {"start": "4G", "size": "1G", "node": 1, "zone": "Movable"},
        {"start": "8G", "size": "1G", "state": "offline", "hotplugged": true}],
        "parameters": {"crash_hotplug": false, "memmap_on_memory": "force"}})");
    const auto& online = spec.memory.at(0);
    CHECK((online.node == 1 && online.online && !online.hotplugged));
    CHECK(online.zone == hotplug::Zone::Movable);
    const auto& added = spec.memory.at(1);
    CHECK((added.node == 0 && !added.online && added.hotplugged && !added.zone));
    CHECK(spec.params.crash_hotplug == false);
    CHECK(spec.params.memmap_on_memory == hotplug::MemmapOnMemory::Force);
}

TEST_CASE("every example loads and builds a machine", "[config][examples]") {
    const char* examples[] = {"default.json",      "kernel-6.18-vm.json", "two-node-movable.json",
                              "auto-movable.json", "failures.json",       "big-1m-blocks.json",
                              "devices.json"};
    for (const char* name : examples) {
        DYNAMIC_SECTION(name) {
            auto result = load_config_file(kExamples + name);
            if (auto* error = std::get_if<ConfigError>(&result)) FAIL(error->message());
            build(std::get<hotplug::MachineSpec>(result));
        }
    }
}

TEST_CASE("default.json is the built-in default machine", "[config][examples]") {
    auto result = load_config_file(kExamples + "default.json");
    REQUIRE(std::holds_alternative<hotplug::MachineSpec>(result));
    CHECK(same_spec(std::get<hotplug::MachineSpec>(result), hotplug::default_machine_spec()));
}

TEST_CASE("kernel-6.18-vm.json reproduces the reference capture", "[config][examples]") {
    auto result = load_config_file(kExamples + "kernel-6.18-vm.json");
    REQUIRE(std::holds_alternative<hotplug::MachineSpec>(result));
    const hotplug::Machine machine = build(std::get<hotplug::MachineSpec>(result));
    CHECK(machine.block_size() == 0x8000000);
    CHECK(machine.blocks().count() == 24 + 168);
    CHECK(machine.valid_zones(0) == "none");
    CHECK(machine.valid_zones(1) == "DMA32");
    CHECK(machine.valid_zones(23) == "DMA32");
    CHECK(!machine.blocks().present(24));
    CHECK(!machine.blocks().present(31));
    CHECK(machine.valid_zones(32) == "Normal");
    CHECK(machine.valid_zones(199) == "Normal");
    CHECK(!machine.blocks().present(200));
    CHECK(machine.params().auto_online_blocks == hotplug::OnlineType::Offline);
    CHECK(!machine.params().probe);
}

TEST_CASE("big-1m-blocks.json has a million blocks", "[config][examples]") {
    auto result = load_config_file(kExamples + "big-1m-blocks.json");
    REQUIRE(std::holds_alternative<hotplug::MachineSpec>(result));
    const hotplug::Machine machine = build(std::get<hotplug::MachineSpec>(result));
    CHECK(machine.blocks().count() == 1048576);
}

TEST_CASE("devices map onto the spec and build", "[config][devices]") {
    const auto spec = load_ok(R"({
        "nodes": [{}, {}],
        "memory": [{"start": 0, "size": "1G"}, {"start": "4G", "size": "1G", "node": 1}],
        "pluggable": [{"start": "8G", "size": "8G"}, {"start": "16G", "size": "8G", "node": 1}],
        "devices": [
          {"name": "dimm0", "start": "8G", "size": "1G"},
          {"name": "dimm1", "kind": "dimm", "node": 1, "start": "16G", "size": "512M",
           "plugged": "512M"},
          {"name": "vmem0", "kind": "virtio-mem", "start": "10G", "size": "4G"},
          {"name": "vmem.1_x", "kind": "virtio-mem", "node": 1, "start": "20G", "size": "2G",
           "unit": "512M", "plugged": "1G"}],
        "unmovable": [129],
        "block_faults": [{"block": 128, "migration_ms": 250},
                         {"block": 161, "migration_ms": -1, "unmovable": true},
                         {"block": 2}]})");
    REQUIRE(spec.devices.size() == 4);
    const auto& d0 = spec.devices[0];
    CHECK((d0.name == "dimm0" && d0.kind == hotplug::DeviceKind::Dimm && d0.node == 0));
    CHECK((d0.start == 8ull << 30 && d0.size == 1ull << 30 && d0.unit == 0 && d0.plugged == 0));
    const auto& d1 = spec.devices[1];
    CHECK((d1.node == 1 && d1.plugged == 512ull << 20));
    const auto& v0 = spec.devices[2];
    CHECK(v0.kind == hotplug::DeviceKind::VirtioMem);
    CHECK(v0.unit == 128ull << 20);  // default: one block
    CHECK(v0.plugged == 0);
    const auto& v1 = spec.devices[3];
    CHECK((v1.name == "vmem.1_x" && v1.unit == 512ull << 20 && v1.plugged == 1ull << 30));
    REQUIRE(spec.block_faults.size() == 3);
    CHECK((spec.block_faults[0].block == 128 && spec.block_faults[0].migration_ms == 250 &&
           !spec.block_faults[0].unmovable));
    CHECK((spec.block_faults[1].migration_ms == -1 && spec.block_faults[1].unmovable));
    CHECK((spec.block_faults[2].block == 2 && spec.block_faults[2].migration_ms == 0));
    CHECK(spec.unmovable == std::vector<uint64_t>{129});

    const hotplug::Machine m = build(spec);
    CHECK(m.devices().size() == 4);
    CHECK(m.blocks().present(128));   // dimm1 (16 GiB) is plugged
    CHECK(!m.blocks().present(64));   // dimm0 is not
    CHECK(m.blocks().present(167));   // vmem.1_x: 20 GiB + 1 GiB plugged -> blocks 160-167
    CHECK(!m.blocks().present(168));
    CHECK(m.block_fault(128).migration_ms == 250);
    CHECK(m.blocks().at(161).unmovable);
    CHECK(m.blocks().at(129).unmovable);
}

TEST_CASE("block faults may only name present blocks", "[config][devices]") {
    // Unplugged device memory is not present.
    const ConfigError error = load_bad("{" + kFrame + R"(, "devices": [{"name": "d", "start": "8G",
        "size": "1G"}], "block_faults": [{"block": 64}]})");
    CHECK(error.json_path == "/block_faults/0/block");
    CHECK_THAT(error.reason, Catch::Contains("no memory range or plugged device memory"));
    // Boot memory qualifies.
    CHECK(load_ok("{" + kFrame + R"(, "block_faults": [{"block": 33, "unmovable": true}]})")
              .block_faults.at(0)
              .unmovable);
}

TEST_CASE("devices.json builds its devices", "[config][examples]") {
    auto result = load_config_file(kExamples + "devices.json");
    if (auto* error = std::get_if<ConfigError>(&result)) FAIL(error->message());
    const hotplug::Machine m = build(std::get<hotplug::MachineSpec>(result));
    REQUIRE(m.devices().size() == 3);
    CHECK(m.device("dimm0")->plugged == 1ull << 30);
    CHECK(m.device("dimm1")->plugged == 0);
    CHECK(m.device("vmem0")->plugged == 1ull << 30);
    for (uint64_t id : {72ull, 79ull, 136ull, 143ull}) CHECK(m.blocks().present(id));
    for (uint64_t id : {80ull, 144ull}) CHECK(!m.blocks().present(id));
    CHECK(m.memmap_pages(72) == 512);
    CHECK(m.block_fault(36).migration_ms == -1);
    CHECK(m.blocks().at(74).unmovable);
}

TEST_CASE("virt names what udev's CONST{virt} answers", "[config]") {
    CHECK(load_ok("{}").virt == "none");
    CHECK(load_ok(R"({"virt": "kvm"})").virt == "kvm");
    CHECK(load_ok(R"({"virt": "microsoft"})").virt == "microsoft");
}
