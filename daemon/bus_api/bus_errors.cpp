#include "bus_api/bus_errors.h"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "bus_api/bus_names.h"
#include "support/printable.h"

namespace hotplugfs::bus {
namespace {

// Every errno a write to the emulated sysfs or a control operation can fail with.
constexpr int kErrnos[] = {EPERM,  ENOENT, EINTR,   EIO,    E2BIG,  ENOMEM,     EACCES,
                           EBUSY,  EEXIST, ENODEV,  EINVAL, ENOSPC, ERANGE,     ENOSYS,
                           EAGAIN, ENXIO,  ENOTDIR, EISDIR, EFAULT, EOPNOTSUPP, EHWPOISON};

}  // namespace

std::string error_name(int errnum) {
    std::string full(kErrorPrefix);
    if (const char* name = strerrorname_np(errnum)) {
        full += name;
    } else {  // appended, not `"E" + to_string(...)`: g++ 12 -O3 warns a false -Wrestrict there
        full += 'E';
        full += std::to_string(errnum);
    }
    return full;
}

void register_error_map() {
    static std::once_flag once;
    std::call_once(once, [] {
        // sd-bus keeps pointers into the map: it lives as long as the process.
        static std::vector<std::string> names;
        static std::vector<sd_bus_error_map> map;
        names.reserve(std::size(kErrnos));
        for (int e : kErrnos) names.push_back(error_name(e));
        for (size_t i = 0; i < names.size(); ++i)
            map.push_back(sd_bus_error_map{names[i].c_str(), kErrnos[i]});
        map.push_back(SD_BUS_ERROR_MAP_END);
        sd_bus_error_add_map(map.data());
    });
}

int set_errno_error(sd_bus_error* error, int errnum, const std::string& what) {
    const std::string message =
        what.empty() ? std::strerror(errnum) : what + ": " + std::strerror(errnum);
    sd_bus_error_set(error, error_name(errnum).c_str(), printable(message, true).c_str());
    return -errnum;
}

}  // namespace hotplugfs::bus
