// What every D-Bus method needs: who may call it, and the words it takes.
#pragma once

#include <systemd/sd-bus.h>

#include <string>

namespace hotplugfs::bus {

// Mutating methods: root, or a member of the hotplugfs group. Returns 0 or a negative errno
// with `error` set (EPERM).
int require_admin(sd_bus_message* m, sd_bus_error* error);

// An online type as the state file takes it: "" and "online" are the kernel's default,
// "kernel"/"online_kernel" and "movable"/"online_movable" choose the zone. Returns 0, or
// -EINVAL with `error` set.
int online_word(const char* type, std::string& out, sd_bus_error* error);

}  // namespace hotplugfs::bus
