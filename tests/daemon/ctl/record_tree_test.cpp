// record::record on trees held in memory: what each file becomes in the configuration, how
// the architecture is inferred, and the one-line errors for input that cannot be recorded.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "ctl/record_tree.h"

using namespace hotplugfs::ctl::record;

namespace {

class MemoryTree : public Tree {
  public:
    std::map<std::string, std::string> files;
    std::set<std::string> links;  // entries that are not files (nodeK links)

    std::optional<std::string> read(const std::string& path) const override {
        const auto it = files.find(path);
        if (it == files.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::vector<std::string>> list(const std::string& path) const override {
        std::set<std::string> names;
        const std::string prefix = path + "/";
        auto add = [&](const std::string& p) {
            if (p.rfind(prefix, 0) != 0) return;
            const std::string rest = p.substr(prefix.size());
            names.insert(rest.substr(0, rest.find('/')));
        };
        for (const auto& [p, _] : files) add(p);
        for (const auto& p : links) add(p);
        if (names.empty()) return std::nullopt;
        return std::vector<std::string>(names.begin(), names.end());
    }
    std::string where(const std::string& path) const override { return "/cap/sys/" + path; }

    void block(uint64_t id, const std::string& state, const std::string& zones, int node = 0) {
        const std::string d = "devices/system/memory/memory" + std::to_string(id);
        files[d + "/state"] = state + "\n";
        files[d + "/online"] = state == "offline" ? "0\n" : "1\n";
        files[d + "/valid_zones"] = zones + "\n";
        files[d + "/removable"] = "1\n";
        files[d + "/phys_device"] = "0\n";
        links.insert(d + "/node" + std::to_string(node));
    }
};

MemoryTree x86_tree() {
    MemoryTree t;
    t.files["devices/system/memory/block_size_bytes"] = "8000000\n";
    t.files["devices/system/memory/auto_online_blocks"] = "online_movable\n";
    t.block(0, "online", "none");
    for (int i = 1; i < 8; ++i) t.block(i, "online", "DMA32");
    for (int i = 32; i < 36; ++i) t.block(i, "offline", "Normal Movable", 1);
    return t;
}

Options capture() {
    Options o;
    o.origin = "/cap";
    return o;
}

std::string error_of(const Tree& t, const Options& o = capture()) {
    try {
        record(t, o);
    } catch (const RecordError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("blocks become ranges with state, zone, node and the none blocks", "[record]") {
    const MemoryTree t = x86_tree();
    const Recording r = record(t, capture());
    const auto& c = r.config;
    CHECK(r.arch == hotplug::Arch::X86_64);
    CHECK(c["block_size"] == "128M");
    CHECK(c["nodes"].size() == 2);
    CHECK(c["memory"].dump() ==
          R"([{"start":"0x0","size":"128M","node":0},)"
          R"({"start":"0x8000000","size":"896M","node":0,"zone":"DMA32"},)"
          R"({"start":"0x100000000","size":"512M","node":1,"state":"offline","hotplugged":true}])");
    CHECK(c["multi_zone"] == "0");
    CHECK(c["parameters"]["auto_online_blocks"] == "online_movable");
    CHECK(c["parameters"]["probe"] == false);
    CHECK(!c.contains("pluggable"));
    // No node directory: nodes come from the links, and the description says so.
    CHECK(c["description"].get<std::string>().find("nodes from the blocks' links") !=
          std::string::npos);
}

TEST_CASE("--pluggable adds free space above the highest block, on its node", "[record]") {
    Options o = capture();
    o.pluggable = 1ull << 30;
    const Recording r = record(x86_tree(), o);
    CHECK(r.config["pluggable"].dump() == R"([{"start":"0x120000000","size":"1G","node":1}])");
    o.pluggable = 1ull << 20;
    CHECK(error_of(x86_tree(), o) == "--pluggable: not a non-zero multiple of the block size 128M");
}

TEST_CASE("node files give CPUs, distances and kernel_used", "[record]") {
    MemoryTree t = x86_tree();
    for (int k = 0; k < 2; ++k) {
        const std::string d = "devices/system/node/node" + std::to_string(k);
        t.files[d + "/cpulist"] = k ? "4-7\n" : "0-3\n";
        t.files[d + "/distance"] = k ? "20 10\n" : "10 20\n";
        t.files[d + "/meminfo"] = "Node 0 MemTotal: 1 kB\nNode 0 MemUsed:    4096 kB\n";
    }
    const Recording r = record(t, capture());
    CHECK(r.config["nodes"].dump() ==
          R"([{"id":0,"cpus":"0-3","distance":[10,20],"kernel_used":"4096K"},)"
          R"({"id":1,"cpus":"4-7","distance":[20,10],"kernel_used":"4096K"}])");
}

TEST_CASE("the architecture is given, or inferred with a reason", "[record]") {
    Options o = capture();
    o.arch = hotplug::Arch::Arm64;
    o.arch_source = "--arch";
    MemoryTree t;
    t.files["devices/system/memory/block_size_bytes"] = "10000000\n";
    t.block(0, "online", "DMA");
    t.block(8, "online", "Normal");
    CHECK(error_of(t, o) ==
          "/cap/sys/devices/system/memory/memory0/valid_zones: DMA does not exist on arm64");
    const Recording s390 = record(t, capture());
    CHECK(s390.arch == hotplug::Arch::S390x);
    CHECK(s390.arch_reason == "a DMA zone without DMA32, as on s390x");
    t.files["devices/system/memory/block_size_bytes"] = "1000000\n";
    t.files.erase("devices/system/memory/memory0/state");
    t.block(0, "online", "Normal");
    CHECK(record(t, capture()).arch == hotplug::Arch::Ppc64);
}

TEST_CASE("removable and phys_device", "[record]") {
    MemoryTree t;
    t.files["devices/system/memory/block_size_bytes"] = "10000000\n";
    for (int i = 0; i < 4; ++i) {
        t.block(i, "online", i < 2 ? "DMA" : "Normal");
        t.files["devices/system/memory/memory" + std::to_string(i) + "/removable"] = "0\n";
        t.files["devices/system/memory/memory" + std::to_string(i) + "/phys_device"] =
            std::to_string(i * 2) + "\n";  // 128 MiB storage increments
    }
    const Recording r = record(t, capture());
    CHECK(r.config.value("removable", true) == false);
    CHECK(r.config.value("storage_increment", "") == "128M");
}

TEST_CASE("input that cannot be recorded names the path and the reason", "[record]") {
    CHECK(error_of(MemoryTree{}) ==
          "/cap/sys/devices/system/memory: no memory-hotplug tree here (No such file or "
          "directory)");
    MemoryTree t = x86_tree();
    t.files["devices/system/memory/memory3/online"] = "0\n";
    CHECK(error_of(t) ==
          "/cap/sys/devices/system/memory/memory3/online: reads 0 but state reads online");
    t = x86_tree();
    t.files["devices/system/memory/memory33/valid_zones"] = "none\n";
    CHECK(error_of(t) ==
          "/cap/sys/devices/system/memory/memory33/valid_zones: reads none but state reads "
          "offline");
    t = x86_tree();
    t.links.insert("devices/system/memory/memory2/node1");
    CHECK(error_of(t) == "/cap/sys/devices/system/memory/memory2: links to node0 and node1");
    t = x86_tree();
    t.files["devices/system/memory/block_size_bytes"] = "banana\n";
    CHECK(error_of(t) ==
          "/cap/sys/devices/system/memory/block_size_bytes: not a block size: 'banana'");
    t = x86_tree();
    t.files["devices/system/memory/memory5/phys_index"] = "00000006\n";
    CHECK(error_of(t) ==
          "/cap/sys/devices/system/memory/memory5/phys_index: reads 00000006, "
          "not the index of memory5");
}

TEST_CASE("id lists and sizes are written the configuration's way", "[record]") {
    CHECK(id_list({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8");
    CHECK(id_list({}) == "");
    CHECK(size_text(128ull << 20) == "128M");
    CHECK(size_text(3ull << 30) == "3G");
    CHECK(size_text(1536ull << 20) == "1536M");
    CHECK(size_text(100) == "0x64");
}
