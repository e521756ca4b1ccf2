#include "events/tree_device.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace hotplugfs {
namespace {

// "/devices/system/memory/memory6" + "state" -> "devices/system/memory/memory6/state"
std::string tree_path(const std::string& devpath, std::string_view rel) {
    std::string path = devpath.substr(devpath.find_first_not_of('/') == std::string::npos
                                          ? devpath.size()
                                          : devpath.find_first_not_of('/'));
    if (!rel.empty()) {
        if (!path.empty()) path += '/';
        path += rel;
    }
    return path;
}

}  // namespace

std::string_view udev_arch_name(hotplug::Arch arch) {
    switch (arch) {
        case hotplug::Arch::X86_64:
            return "x86-64";
        case hotplug::Arch::Arm64:
            return "arm64";
        case hotplug::Arch::Ppc64:
            return "ppc64-le";
        case hotplug::Arch::S390x:
            return "s390x";
    }
    return "";
}

TreeDevice::TreeDevice(LiveMachine& live, std::chrono::milliseconds max_write_wait,
                       Runner runner, Platform platform)
    : live_(live),
      max_write_wait_(max_write_wait),
      runner_(std::move(runner)),
      platform_(std::move(platform)) {}

std::optional<uint64_t> TreeDevice::resolve(const std::string& devpath,
                                            std::string_view rel) const {
    return live_.resolve(tree_path(devpath, rel));
}

std::optional<std::string> TreeDevice::read_attr(const std::string& devpath,
                                                 const std::string& attr) {
    const auto ino = resolve(devpath, attr);
    if (!ino) return std::nullopt;
    std::string content;
    fsmodel::Stat st;
    const int err = live_.read([&](const auto& m, const auto& t) {
        if (int e = t.getattr(m, *ino, st)) return e;
        if (!S_ISREG(st.mode)) return EISDIR;
        return t.read(m, *ino, content);
    });
    if (err) return std::nullopt;
    return content;
}

int TreeDevice::write_attr(const std::string& devpath, const std::string& attr,
                           const std::string& value) {
    const auto ino = resolve(devpath, attr);
    if (!ino) return ENOENT;
    const long r =
        live_.write_file(*ino, value, live_.unattended(max_write_wait_.count())).result;
    return r < 0 ? static_cast<int>(-r) : 0;
}

// udev's parent: the nearest ancestor directory that is a device (has a uevent file).
std::optional<std::string> TreeDevice::parent(const std::string& devpath) {
    std::string path = devpath;
    for (;;) {
        const size_t slash = path.rfind('/');
        if (slash == std::string::npos || slash == 0) return std::nullopt;
        path.resize(slash);
        if (path == "/devices") return std::nullopt;
        if (resolve(path, "uevent")) return path;
    }
}

std::string TreeDevice::link_name(const std::string& devpath, std::string_view link) const {
    const auto ino = resolve(devpath, link);
    if (!ino) return "";
    std::string target;
    if (live_.read([&](const auto& m, const auto& t) { return t.readlink(m, *ino, target); }))
        return "";
    const size_t slash = target.rfind('/');
    return slash == std::string::npos ? target : target.substr(slash + 1);
}

std::string TreeDevice::subsystem(const std::string& devpath) {
    return link_name(devpath, "subsystem");
}

std::string TreeDevice::driver(const std::string& devpath) {
    return link_name(devpath, "driver");
}

// Paths under /sys are answered by the emulated tree when it has them; everything else (and
// the parts of /sys the tree does not emulate) by the real file system, as udev would see it.
bool TreeDevice::test_path(const std::string& path, unsigned mode_mask) {
    if (path.rfind("/sys/", 0) == 0) {
        if (const auto ino = live_.resolve(path.substr(5))) {
            fsmodel::Stat st;
            if (live_.read([&](const auto& m, const auto& t) { return t.getattr(m, *ino, st); }))
                return false;
            return mode_mask == 0 || (st.mode & mode_mask) != 0;
        }
        for (std::string_view prefix :
             {"/sys/devices/system/memory", "/sys/devices/system/node", "/sys/devices/system/cpu",
              "/sys/devices/virtual/memory_tiering", "/sys/bus/memory", "/sys/bus/node",
              "/sys/bus/cpu", "/sys/bus/memory_tiering", "/sys/kernel/mm/numa",
              "/sys/module/memory_hotplug"})
            if (path.rfind(prefix, 0) == 0 &&
                (path.size() == prefix.size() || path[prefix.size()] == '/'))
                return false;  // emulated, and the tree has no such file
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    return mode_mask == 0 || (st.st_mode & mode_mask) != 0;  // udev: any bit of the mode
}

udev::ProgramResult TreeDevice::run_program(const std::vector<std::string>& argv,
                                            const udev::Properties& env) {
    return runner_(argv, env);
}

std::string TreeDevice::const_value(const std::string& key) {
    if (key == "arch") return std::string(udev_arch_name(platform_.arch));
    if (key == "virt") return platform_.virt;
    if (key == "cgroup") return "unified";
    return "";
}

}  // namespace hotplugfs
