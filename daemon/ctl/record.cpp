// `hotplugctl record`: reads files only (no daemon, no D-Bus), checks that what it writes loads
// as a configuration, and writes it.
#include "ctl/record.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "config/config_loader.h"
#include "ctl/client.h"
#include "ctl/record_tree.h"
#include "support/printable.h"

namespace hotplugfs::ctl {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kUsage =
    "Usage: hotplugctl record [--sysroot DIR] [--arch ARCH] [--pluggable SIZE] [-o FILE]\n";

struct Fd {
    int fd;
    ~Fd() { close(fd); }
};

// A sysfs root on disk: /sys, or DIR/sys of a captured tree.
class DiskTree : public record::Tree {
  public:
    explicit DiskTree(std::string root) : root_(std::move(root)) {}

    std::optional<std::string> read(const std::string& path) const override {
        const std::string file = where(path);
        const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
            if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
            throw record::RecordError(file, std::strerror(errno));
        }
        const Fd guard{fd};
        std::string text;
        char buf[4096];
        for (;;) {
            const ssize_t got = ::read(fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw record::RecordError(file, std::strerror(errno));
            if (got == 0) return text;
            text.append(buf, static_cast<size_t>(got));
            if (text.size() > (1u << 20)) throw record::RecordError(file, "larger than 1 MiB");
        }
    }

    std::optional<std::vector<std::string>> list(const std::string& path) const override {
        const std::string dir = where(path);
        const std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
        if (!d) {
            if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
            throw record::RecordError(dir, std::strerror(errno));
        }
        std::vector<std::string> names;
        while (const dirent* e = readdir(d.get()))
            if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
                names.emplace_back(e->d_name);
        std::sort(names.begin(), names.end());  // messages and output do not follow readdir
        return names;
    }

    std::string where(const std::string& path) const override { return root_ + "/" + path; }

  private:
    std::string root_;
};

struct RecordArgs {
    std::optional<std::string> sysroot, arch, output;
    std::optional<uint64_t> pluggable;
};

std::optional<RecordArgs> parse(const std::vector<std::string>& a) {
    RecordArgs o;
    for (size_t i = 0; i < a.size(); ++i) {
        if (i + 1 >= a.size()) return std::nullopt;
        const std::string& v = a[++i];
        const std::string& name = a[i - 1];
        if (name == "--sysroot")
            o.sysroot = v;
        else if (name == "--arch")
            o.arch = v;
        else if (name == "-o" || name == "--output")
            o.output = v;
        else if (name == "--pluggable" && (o.pluggable = parse_size(v)))
            continue;
        else
            return std::nullopt;
    }
    return o;
}

// The running kernel's architecture, in the configuration's words.
std::optional<hotplug::Arch> live_arch(std::string& machine) {
    utsname u{};
    if (uname(&u) != 0) return std::nullopt;
    machine = u.machine;
    if (machine == "x86_64") return hotplug::Arch::X86_64;
    if (machine == "aarch64" || machine == "arm64") return hotplug::Arch::Arm64;
    if (machine.rfind("ppc64", 0) == 0) return hotplug::Arch::Ppc64;
    if (machine == "s390x") return hotplug::Arch::S390x;
    return std::nullopt;
}

// One line per top-level member and per array element: short enough to read, easy to diff.
std::string layout(const Json& config) {
    std::string out = "{\n";
    size_t left = config.size();
    for (const auto& [key, value] : config.items()) {
        out += "  " + Json(key).dump() + ": ";
        if (value.is_array() && !value.empty() && value.front().is_object()) {
            out += "[\n";
            for (size_t i = 0; i < value.size(); ++i)
                out += "    " + value[i].dump() + (i + 1 < value.size() ? ",\n" : "\n");
            out += "  ]";
        } else {
            out += value.dump();
        }
        out += --left ? ",\n" : "\n";
    }
    return out + "}\n";
}

int fail(const std::string& line) {
    std::fprintf(stderr, "hotplugctl record: %s\n", printable(line).c_str());
    return 2;
}

bool write_file(const std::string& path, const std::string& text) {
    const std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), std::fclose);
    if (!f) return false;
    return std::fwrite(text.data(), 1, text.size(), f.get()) == text.size() &&
           std::fflush(f.get()) == 0;
}

}  // namespace

int record_command(const std::vector<std::string>& args) {
    const auto o = parse(args);
    if (!o) {
        std::fprintf(stderr, "%sTry 'hotplugctl record --help'.\n", kUsage);
        return 2;
    }
    record::Options options;
    if (o->arch) {
        options.arch = hotplug::arch_from_name(*o->arch);
        if (!options.arch)
            return fail("--arch " + *o->arch + ": not one of x86_64, arm64, ppc64, s390x");
        options.arch_source = "--arch";
    } else if (!o->sysroot) {
        std::string machine;
        options.arch = live_arch(machine);
        if (!options.arch)
            return fail("the running kernel's architecture '" + machine +
                        "' is not one hotplugfs emulates; pass --arch");
        options.arch_source = "the running kernel";
    }
    options.pluggable = o->pluggable;
    options.origin = o->sysroot ? *o->sysroot : "/sys";
    const DiskTree tree(o->sysroot ? *o->sysroot + "/sys" : "/sys");
    record::Recording recording;
    try {
        recording = record::record(tree, options);
    } catch (const record::RecordError& e) {
        return fail(e.what());
    }
    if (!options.arch)
        std::fprintf(stderr, "hotplugctl record: architecture %s: %s\n",
                     std::string(hotplug::arch_name(recording.arch)).c_str(),
                     recording.arch_reason.c_str());
    const std::string text = layout(recording.config);
    const auto loaded = config::load_config_text(text, "the recording");
    if (const auto* error = std::get_if<config::ConfigError>(&loaded))
        return fail(tree.where("devices/system/memory") +
                    ": cannot be served: " + error->message());
    if (!o->output) return std::fputs(text.c_str(), stdout) < 0 ? 1 : 0;
    if (!write_file(*o->output, text)) {
        std::fprintf(stderr, "hotplugctl record: %s: %s\n", printable(*o->output).c_str(),
                     std::strerror(errno));
        return 1;
    }
    return 0;
}

}  // namespace hotplugfs::ctl
