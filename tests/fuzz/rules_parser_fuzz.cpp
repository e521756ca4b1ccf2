// libFuzzer target: arbitrary bytes as a rules file, parsed and then applied to a fixed event.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "udev/rules.h"

namespace {

using namespace hotplugfs::udev;

// A small fixed world that never touches the system: memory6 under the memory root.
class FuzzDevice final : public DeviceAccess {
  public:
    std::optional<std::string> read_attr(const std::string& devpath,
                                         const std::string& attr) override {
        if (devpath == kBlock && attr == "state") return state_;
        if (devpath == kBlock && attr == "valid_zones") return std::string("Normal Movable\n");
        if (devpath == kRoot && attr == "auto_online_blocks") return std::string("offline\n");
        return std::nullopt;
    }
    int write_attr(const std::string& devpath, const std::string& attr,
                   const std::string& value) override {
        if (devpath != kBlock || attr != "state") return ENOENT;
        if (value != "online" && value != "online_movable" && value != "offline") return EINVAL;
        state_ = value + "\n";
        return 0;
    }
    std::optional<std::string> parent(const std::string& devpath) override {
        if (devpath == kBlock) return std::string(kRoot);
        return std::nullopt;
    }
    std::string subsystem(const std::string& devpath) override {
        return devpath == kBlock ? "memory" : "";
    }
    std::string driver(const std::string&) override { return ""; }
    bool test_path(const std::string& path, unsigned mode_mask) override {
        return path.starts_with("/sys/devices/system/memory") &&
               (mode_mask == 0 || mode_mask & 0644);
    }
    ProgramResult run_program(const std::vector<std::string>& argv, const Properties&) override {
        if (argv.size() > 1) return {0, "KEY=value\n" + argv[1] + "\n"};
        return {argv.empty() ? -1 : 1, ""};
    }
    std::string const_value(const std::string& key) override {
        return key == "arch" ? "x86-64" : key == "virt" ? "kvm" : "";
    }

  private:
    static constexpr const char* kBlock = "/devices/system/memory/memory6";
    static constexpr const char* kRoot = "/devices/system/memory";
    std::string state_ = "offline\n";
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    RuleSet rules;
    rules.add_file("fuzz.rules", std::string_view(reinterpret_cast<const char*>(data), size));
    FuzzDevice device;
    Event event{{{"ACTION", "add"},
                 {"DEVPATH", "/devices/system/memory/memory6"},
                 {"SUBSYSTEM", "memory"},
                 {"SEQNUM", "42"}}};
    RuleOutcome out = apply_rules(rules, event, device);
    // Touch the results so nothing is optimised away.
    return static_cast<int>(out.properties.size() + out.run.size()) < 0 ? 1 : 0;
}
