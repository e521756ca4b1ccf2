// TreeDevice: the emulated sysfs as udev rules see it. Attribute reads come from the tree,
// attribute writes go to the model's owner as a write() to the mount does, TEST of a /sys path
// asks the tree, and CONST answers what the machine's configuration declares.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/live_machine.h"
#include "hotplug/types.h"
#include "udev/rules.h"

namespace hotplugfs {

struct Platform {
    hotplug::Arch arch = hotplug::Arch::X86_64;
    std::string virt = "none";
};

// systemd's spelling of an architecture, as CONST{arch} compares it ("x86-64", "ppc64-le").
std::string_view udev_arch_name(hotplug::Arch arch);

class TreeDevice final : public udev::DeviceAccess {
  public:
    using Runner = std::function<udev::ProgramResult(const std::vector<std::string>& argv,
                                                     const udev::Properties& env)>;

    // udevd kills a worker that outlives its event timeout, which interrupts the worker's sysfs
    // write: an ATTR write of `offline` that keeps migrating past `max_write_wait` ends so.
    TreeDevice(LiveMachine& live, std::chrono::milliseconds max_write_wait, Runner runner,
               Platform platform);

    std::optional<std::string> read_attr(const std::string& devpath,
                                         const std::string& attr) override;
    int write_attr(const std::string& devpath, const std::string& attr,
                   const std::string& value) override;
    std::optional<std::string> parent(const std::string& devpath) override;
    std::string subsystem(const std::string& devpath) override;
    std::string driver(const std::string& devpath) override;
    bool test_path(const std::string& path, unsigned mode_mask) override;
    udev::ProgramResult run_program(const std::vector<std::string>& argv,
                                    const udev::Properties& env) override;
    std::string const_value(const std::string& key) override;

  private:
    std::optional<uint64_t> resolve(const std::string& devpath, std::string_view rel) const;
    std::string link_name(const std::string& devpath, std::string_view link) const;

    LiveMachine& live_;
    std::chrono::milliseconds max_write_wait_;
    Runner runner_;
    Platform platform_;
};

}  // namespace hotplugfs
