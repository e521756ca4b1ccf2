#include "bus/method_support.h"

#include "support/test_fault.h"

#include <grp.h>

#include <optional>
#include <vector>

#include "hotplug/machine.h"

#include "bus_api/bus_errors.h"
#include "bus_api/bus_names.h"

namespace hotplugfs::bus {
namespace {

// --- who may change the machine ----------------------------------------------------------------
bool in_admin_group(sd_bus_creds* creds) {
    group grp{};
    group* found = nullptr;
    std::vector<char> buf(4096);
    if (getgrnam_r(kAdminGroup, &grp, buf.data(), buf.size(), &found) != 0 || !found) return false;
    gid_t egid = 0;
    if (sd_bus_creds_get_egid(creds, &egid) >= 0 && egid == grp.gr_gid) return true;
    const gid_t* gids = nullptr;
    const int n = sd_bus_creds_get_supplementary_gids(creds, &gids);
    for (int i = 0; i < n; ++i)
        if (gids[i] == grp.gr_gid) return true;
    return false;
}

}  // namespace

int require_admin(sd_bus_message* m, sd_bus_error* error) {
    sd_bus_creds* creds = nullptr;
    const uint64_t mask = SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID | SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
                          SD_BUS_CREDS_AUGMENT;
    int r = sd_bus_query_sender_creds(m, mask, &creds);
    if (r < 0) return set_errno_error(error, EPERM, "cannot tell who is calling");
    uid_t euid = 1;
    const bool root = sd_bus_creds_get_euid(creds, &euid) >= 0 && euid == 0;
    const bool allowed = root || in_admin_group(creds);
    sd_bus_creds_unref(creds);
    if (allowed) return 0;
    return set_errno_error(
        error, EPERM,
        std::string("only root and the group ") + kAdminGroup + " may change the machine");
}

// Online types as the state file takes them; "" and "online" are the kernel's default.
int online_word(const char* type, std::string& out, sd_bus_error* error) {
    const std::string t = type;
    if (t.empty() || t == "online")
        out = "online";
    else if (t == "kernel" || t == "online_kernel")
        out = "online_kernel";
    else if (t == "movable" || t == "online_movable")
        out = "online_movable";
    else
        return set_errno_error(error, EINVAL, "online type '" + t + "'");
    return 0;
}

Backend& backend_of(void* userdata) {
    return *static_cast<Backend*>(userdata);
}

int reply_write(sd_bus_message* m, const Backend& b, std::string path, std::string data) {
    return b.defer(m, [&b, path = std::move(path), data = std::move(data)] {
        test_fault::check("write:" + path);
        return MethodResult::of(b.write_path(path, data), path);
    });
}

int reply_apply(sd_bus_message* m, const Backend& b, std::string what,
                std::function<hotplug::Outcome(hotplug::Machine&)> op) {
    return b.defer(m, [&b, what = std::move(what), op = std::move(op)] {
        std::string why;
        const long r = b.apply([&](hotplug::Machine& mach) {
            hotplug::Outcome o = op(mach);
            why = o.error.message;
            return o;
        });
        return MethodResult::of(r, why.empty() ? what : why);
    });
}

std::string block_path(uint64_t block, const char* file) {
    return std::string("devices/system/memory/") + "memory" + std::to_string(block) + "/" + file;
}

static std::string device_file(const char* name) {
    return std::string("kernel/debug/hotplugfs/devices/") + name + "/plugged";
}

static bool valid_device_name(const std::string& n) {
    return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos;
}

// The device's size, if there is a device of that name.
static std::optional<uint64_t> device_size(const Backend& b, const char* name) {
    if (!valid_device_name(name)) return std::nullopt;
    std::optional<uint64_t> size;
    b.live.read([&](const hotplug::Machine& mach, const fsmodel::Tree&) {
        if (const hotplug::Device* d = mach.device(name)) size = d->spec.size;
        return 0;
    });
    return size;
}

int device_write(sd_bus_message* m, sd_bus_error* error, const Backend& b, const char* name,
                 std::optional<uint64_t> bytes) {
    const auto size = device_size(b, name);
    if (!size) return set_errno_error(error, ENOENT, std::string("device ") + name);
    return reply_write(m, b, device_file(name), std::to_string(bytes.value_or(*size)));
}

int device_unplug(sd_bus_message* m, sd_bus_error* error, const Backend& b, const char* name) {
    if (!device_size(b, name)) return set_errno_error(error, ENOENT, std::string("device ") + name);
    return reply_apply(m, b, std::string("device ") + name,
                       [device = std::string(name)](hotplug::Machine& mach) {
                           return mach.unplug_device(device);
                       });
}

}  // namespace hotplugfs::bus
