#include "ctl/client.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>

#include "bus_api/bus_errors.h"
#include "bus_api/bus_names.h"

namespace hotplugfs::ctl {

int parse_global(int argc, char** argv, GlobalOptions& out) {
    int i = 1;
    for (; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::optional<std::string> {
            if (const auto eq = a.find('='); eq != std::string::npos) return a.substr(eq + 1);
            if (i + 1 < argc) return std::string(argv[++i]);
            return std::nullopt;
        };
        if (a == "--json")
            out.json = true;
        else if (a == "--system")
            out.target.bus = "system";
        else if (a == "--user")
            out.target.bus = "session";
        else if (a == "--root" || a.rfind("--root=", 0) == 0) {
            if (!(out.target.root = value()))
                return std::fprintf(stderr, "hotplugctl: --root needs a directory\n"), -1;
        } else if (a == "--address" || a.rfind("--address=", 0) == 0) {
            if (!(out.target.address = value()))
                return std::fprintf(stderr, "hotplugctl: --address needs an address\n"), -1;
        } else
            break;
    }
    return i;
}

Client::Client(const Target& t) {
    bus::register_error_map();
    int r = 0;
    std::string what;
    if (t.bus) {
        what = "the " + *t.bus + " bus";
        r = *t.bus == "system" ? sd_bus_open_system(&bus_) : sd_bus_open_user(&bus_);
    } else {
        std::string address;
        if (t.address) {
            address = *t.address;
        } else {
            const char* env = std::getenv("HOTPLUGFS_ROOT");
            const std::string root = t.root.value_or(env && *env ? env : "/run/hotplugfs");
            address = "unix:path=" + root + "/" + bus::kSocketName;
        }
        what = address;
        // A bus client (Hello, AddMatch) on a bus and on the daemon's socket alike: the
        // daemon answers those calls there itself.
        if ((r = sd_bus_new(&bus_)) >= 0 && (r = sd_bus_set_address(bus_, address.c_str())) >= 0 &&
            (r = sd_bus_set_bus_client(bus_, 1)) >= 0)
            r = sd_bus_start(bus_);
    }
    if (r < 0) {
        if (bus_) sd_bus_unref(bus_);
        bus_ = nullptr;
        throw std::runtime_error("cannot reach hotplugfsd at " + what + ": " + std::strerror(-r));
    }
}

Client::~Client() {
    if (bus_) sd_bus_flush_close_unref(bus_);
}

bool Client::call(const char* member, const std::function<int(sd_bus_message*)>& fill,
                  sd_bus_message** reply, sd_bus_error* error, const char* path,
                  const char* interface) {
    sd_bus_message* m = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &m, bus::kBusName, path ? path : bus::kManagerPath,
                                           interface ? interface : bus::kManagerInterface, member);
    if (r >= 0 && fill) r = fill(m);
    if (r < 0) {
        sd_bus_message_unref(m);
        sd_bus_error_set_errno(error, r);
        return false;
    }
    r = sd_bus_call(bus_, m, 0, error, reply);
    sd_bus_message_unref(m);
    return r >= 0;
}

std::optional<uint64_t> parse_size(const std::string& text) {
    if (text.empty() || text[0] == '-') return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 0);
    if (errno || end == text.c_str()) return std::nullopt;
    const std::string suffix = end;
    int shift = 0;
    if (suffix.empty())
        shift = 0;
    else if (suffix == "K" || suffix == "k")
        shift = 10;
    else if (suffix == "M" || suffix == "m")
        shift = 20;
    else if (suffix == "G" || suffix == "g")
        shift = 30;
    else if (suffix == "T" || suffix == "t")
        shift = 40;
    else
        return std::nullopt;
    if (shift && v > (UINT64_MAX >> shift)) return std::nullopt;
    return static_cast<uint64_t>(v) << shift;
}

std::optional<uint64_t> parse_block(const std::string& text) {
    std::string digits = text.rfind("memory", 0) == 0 ? text.substr(6) : text;
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    errno = 0;
    const unsigned long long v = std::strtoull(digits.c_str(), nullptr, 10);
    if (errno) return std::nullopt;
    return v;
}

std::string format_size(uint64_t bytes) {
    static const char* const units[] = {"B", "K", "M", "G", "T", "P", "E"};
    int u = 0;
    double v = static_cast<double>(bytes);
    while (v >= 1024 && u < 6) v /= 1024, ++u;
    char buf[32];
    if (std::fabs(v - std::round(v)) < 0.05)
        std::snprintf(buf, sizeof buf, "%.0f%s", v, units[u]);
    else
        std::snprintf(buf, sizeof buf, "%.1f%s", v, units[u]);
    return buf;
}

}  // namespace hotplugfs::ctl
