// D-Bus errors that carry an errno: "org.hotplugfs.Error.EINVAL" <-> EINVAL.
#pragma once

#include <systemd/sd-bus.h>

#include <string>

namespace hotplugfs::bus {

// Registers the name <-> errno map with sd-bus (process-wide, once), so that
// sd_bus_error_get_errno() and sd_bus_error_set_errno() use our names on both sides.
void register_error_map();

// Fills `error` with the name for `errnum` and the kernel's message for it ("Invalid
// argument"), prefixed by `what` when given ("memory72/state: Invalid argument").
// Returns -errnum, as sd-bus method handlers return.
int set_errno_error(sd_bus_error* error, int errnum, const std::string& what = "");

std::string error_name(int errnum);

}  // namespace hotplugfs::bus
