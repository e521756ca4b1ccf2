// Helpers shared by the fsmodel unit tests: machines, path resolution and a tree walk.
#pragma once

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fsmodel/entry.h"
#include "fsmodel/inode.h"
#include "fsmodel/tree.h"
#include "hotplug/machine.h"
#include "hotplug/spec.h"

namespace fstest {

using hotplug::Machine;
using hotplug::MachineSpec;
using hotplug::Outcome;

inline constexpr uint64_t MiB = 1ull << 20;
inline constexpr uint64_t GiB = 1ull << 30;
inline constexpr uint64_t kBlock = 128 * MiB;
inline constexpr int64_t kBoot = 1'000'000'000;
inline const uint64_t kRoot = fsmodel::encode_inode(fsmodel::Scope::Global, 0, 0);

inline Machine build(const MachineSpec& spec) {
    auto r = Machine::build(spec);
    INFO("build error: " << (r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    return std::move(r.value());
}

inline Machine default_machine() { return build(hotplug::default_machine_spec()); }

// The machine of the reference capture: one node with cpus 0-1, 24 GiB in 128 MiB blocks,
// blocks 0-23 (below the PCI hole) and 32-199 online, no probe file.
inline MachineSpec reference_spec() {
    MachineSpec spec;
    spec.block_size = kBlock;
    spec.nodes = {hotplug::NodeSpec{0, {0, 1}, {10}, 158368}};
    spec.memory = {
        hotplug::MemoryRangeSpec{0, 3 * GiB, 0, true, false, {}},
        hotplug::MemoryRangeSpec{4 * GiB, 21 * GiB, 0, true, false, {}},
    };
    spec.params.probe = false;
    return spec;
}
inline Machine reference_machine() { return build(reference_spec()); }

// Every optional file visible: probe, soft/hard_offline_page, crash_hotplug, and a device
// named NAME (so its directory reads like a pattern in docs/abi.md).
inline MachineSpec full_spec() {
    MachineSpec spec = hotplug::default_machine_spec();
    spec.params.probe = true;
    spec.params.memory_failure = true;
    spec.params.crash_hotplug = true;
    hotplug::DeviceSpec dimm;
    dimm.name = "NAME";
    dimm.kind = hotplug::DeviceKind::Dimm;
    dimm.start = 17 * GiB;
    dimm.size = 1 * GiB;
    spec.devices.push_back(dimm);
    return spec;
}

inline std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        const size_t slash = path.find('/', start);
        const size_t end = slash == std::string_view::npos ? path.size() : slash;
        if (end > start) parts.emplace_back(path.substr(start, end - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return parts;
}

// Resolves a path relative to the sysfs root by lookups; returns 0 or the failing errno.
inline int lookup_path(const fsmodel::Tree& t, const Machine& m, std::string_view path,
                       fsmodel::Stat& st) {
    fsmodel::Stat cur;
    if (int err = t.getattr(m, kRoot, cur)) return err;
    for (const auto& name : split_path(path))
        if (int err = t.lookup(m, cur.ino, name, cur)) return err;
    st = cur;
    return 0;
}

inline uint64_t ino_of(const fsmodel::Tree& t, const Machine& m, std::string_view path) {
    fsmodel::Stat st;
    INFO("path " << path);
    REQUIRE(lookup_path(t, m, path, st) == 0);
    return st.ino;
}

inline fsmodel::Stat stat_of(const fsmodel::Tree& t, const Machine& m, std::string_view path) {
    fsmodel::Stat st;
    INFO("path " << path);
    REQUIRE(lookup_path(t, m, path, st) == 0);
    return st;
}

inline std::string read_path(const fsmodel::Tree& t, const Machine& m, std::string_view path) {
    std::string out;
    INFO("path " << path);
    REQUIRE(t.read(m, ino_of(t, m, path), out) == 0);
    return out;
}

inline std::string readlink_path(const fsmodel::Tree& t, const Machine& m,
                                 std::string_view path) {
    std::string out;
    INFO("path " << path);
    REQUIRE(t.readlink(m, ino_of(t, m, path), out) == 0);
    return out;
}

// write() as the FUSE layer does it: returns bytes consumed or -errno.
inline long write_path(const fsmodel::Tree& t, Machine& m, std::string_view path,
                       std::string_view data, Outcome* outcome = nullptr) {
    Outcome local;
    return t.write(m, ino_of(t, m, path), data, outcome ? *outcome : local);
}

struct DirEntry {
    std::string name;
    uint64_t ino = 0;
    uint32_t type = 0;
};

// The listing without "." and "..", in readdir order.
inline std::vector<DirEntry> list(const fsmodel::Tree& t, const Machine& m, uint64_t ino,
                                  std::vector<DirEntry>* dots = nullptr) {
    std::vector<DirEntry> out;
    const int err = t.readdir(m, ino, 0, [&](std::string_view name, uint64_t i, uint32_t type,
                                             uint64_t) {
        if (name == "." || name == "..") {
            if (dots) dots->push_back({std::string(name), i, type});
        } else {
            out.push_back({std::string(name), i, type});
        }
        return true;
    });
    REQUIRE(err == 0);
    return out;
}

inline std::map<std::string, DirEntry> list_map(const fsmodel::Tree& t, const Machine& m,
                                                std::string_view path) {
    std::map<std::string, DirEntry> out;
    for (auto& e : list(t, m, ino_of(t, m, path))) out[e.name] = e;
    return out;
}

// Every path below the root (relative, no leading slash) with its Stat, found by readdir and
// checked against lookup.
inline std::vector<std::pair<std::string, fsmodel::Stat>> walk(const fsmodel::Tree& t,
                                                               const Machine& m) {
    std::vector<std::pair<std::string, fsmodel::Stat>> out;
    std::vector<std::pair<std::string, uint64_t>> pending{{"", kRoot}};
    while (!pending.empty()) {
        auto [path, ino] = pending.back();
        pending.pop_back();
        for (const auto& e : list(t, m, ino)) {
            const std::string child = path.empty() ? e.name : path + "/" + e.name;
            fsmodel::Stat st;
            INFO("walking " << child);
            REQUIRE(t.lookup(m, ino, e.name, st) == 0);
            REQUIRE(st.ino == e.ino);
            REQUIRE((st.mode & S_IFMT) == e.type);
            out.emplace_back(child, st);
            if (S_ISDIR(st.mode)) pending.emplace_back(child, st.ino);
        }
    }
    return out;
}

// "devices/system/memory/memory12/node1" -> "devices/system/memory/memoryN/nodeK".
inline std::string path_pattern(std::string_view path) {
    auto numbered = [](const std::string& part, std::string_view prefix) {
        if (part.size() <= prefix.size() || part.compare(0, prefix.size(), prefix) != 0)
            return false;
        for (size_t i = prefix.size(); i < part.size(); ++i)
            if (part[i] < '0' || part[i] > '9') return false;
        return true;
    };
    std::string out;
    for (const auto& part : split_path(path)) {
        if (!out.empty()) out += '/';
        if (numbered(part, "memory")) out += "memoryN";
        else if (numbered(part, "node")) out += "nodeK";
        else if (numbered(part, "cpu")) out += "cpuN";
        else if (numbered(part, "memory_tier")) out += "memory_tierN";
        else out += part;
    }
    return out;
}

}  // namespace fstest
