// An in-memory DeviceAccess for the udev rule tests: a map of devpath -> attributes.
#pragma once

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "udev/rules.h"

namespace udevtest {

using namespace hotplugfs::udev;

struct FakeDevice final : DeviceAccess {
    struct Dev {
        std::string parent;  // "" = none
        std::string subsystem;
        std::string driver;
        std::map<std::string, std::string> attrs;
        std::map<std::string, int> write_errors;  // attr -> errno the write fails with
        std::map<std::string, unsigned> modes;    // attr -> st_mode bits for TEST{mode}
    };
    std::map<std::string, Dev> devs;
    std::map<std::string, std::string> consts{{"arch", "x86-64"}, {"virt", "kvm"}};
    std::set<std::string> extra_paths;
    std::map<std::string, ProgramResult> programs;  // argv joined by ' ' -> result
    std::vector<std::vector<std::string>> ran;
    std::vector<std::string> writes;  // "devpath/attr=value"
    int reads = 0;

    std::optional<std::string> read_attr(const std::string& devpath,
                                         const std::string& attr) override {
        ++reads;
        auto d = devs.find(devpath);
        if (d == devs.end()) return std::nullopt;
        auto a = d->second.attrs.find(attr);
        if (a == d->second.attrs.end()) return std::nullopt;
        return a->second;
    }
    int write_attr(const std::string& devpath, const std::string& attr,
                   const std::string& value) override {
        writes.push_back(devpath + "/" + attr + "=" + value);
        auto d = devs.find(devpath);
        if (d == devs.end()) return ENOENT;
        if (auto e = d->second.write_errors.find(attr); e != d->second.write_errors.end())
            return e->second;
        if (!d->second.attrs.count(attr)) return ENOENT;
        d->second.attrs[attr] = value + "\n";
        return 0;
    }
    std::optional<std::string> parent(const std::string& devpath) override {
        auto d = devs.find(devpath);
        if (d == devs.end() || d->second.parent.empty()) return std::nullopt;
        return d->second.parent;
    }
    std::string subsystem(const std::string& devpath) override {
        auto d = devs.find(devpath);
        return d == devs.end() ? "" : d->second.subsystem;
    }
    std::string driver(const std::string& devpath) override {
        auto d = devs.find(devpath);
        return d == devs.end() ? "" : d->second.driver;
    }
    bool test_path(const std::string& path, unsigned mode_mask) override {
        if (extra_paths.count(path)) return mode_mask == 0;
        for (const auto& [devpath, dev] : devs) {
            std::string prefix = "/sys" + devpath + "/";
            if (!path.starts_with(prefix)) continue;
            std::string attr = path.substr(prefix.size());
            if (!dev.attrs.count(attr)) continue;
            if (mode_mask == 0) return true;
            auto m = dev.modes.find(attr);
            return ((m == dev.modes.end() ? 0644u : m->second) & mode_mask) != 0;
        }
        return false;
    }
    ProgramResult run_program(const std::vector<std::string>& argv, const Properties&) override {
        ran.push_back(argv);
        std::string key;
        for (const auto& a : argv) key += (key.empty() ? "" : " ") + a;
        auto p = programs.find(key);
        return p == programs.end() ? ProgramResult{-1, ""} : p->second;
    }
    std::string const_value(const std::string& key) override {
        auto c = consts.find(key);
        return c == consts.end() ? "" : c->second;
    }
};

// The memory sysfs of a small machine: memory6 offline under /devices/system/memory.
inline FakeDevice memory_machine() {
    FakeDevice f;
    f.devs["/devices/system/memory"] = {
        "", "", "", {{"auto_online_blocks", "offline\n"}, {"block_size_bytes", "8000000\n"}},
        {}, {}};
    f.devs["/devices/system/memory/memory6"] = {"/devices/system/memory",
                                                "memory",
                                                "",
                                                {{"state", "offline\n"},
                                                 {"online", "0\n"},
                                                 {"valid_zones", "Normal Movable\n"},
                                                 {"phys_index", "00000006\n"},
                                                 {"removable", "1\n"}},
                                                {},
                                                {}};
    f.devs["/devices/system/node/node0"] = {"", "node", "", {{"cpulist", "0-1\n"}}, {}, {}};
    return f;
}

inline Event memory_event(const std::string& action = "add", int block = 6) {
    return Event{{{"ACTION", action},
                  {"DEVPATH", "/devices/system/memory/memory" + std::to_string(block)},
                  {"SUBSYSTEM", "memory"},
                  {"SEQNUM", "1234"}}};
}

inline RuleSet parse(const std::string& text, const std::string& name = "test.rules") {
    RuleSet rules;
    rules.add_file(name, text);
    return rules;
}

inline std::string prop(const RuleOutcome& o, const std::string& key) {
    for (const auto& [k, v] : o.properties)
        if (k == key) return v;
    return "<unset>";
}

}  // namespace udevtest
