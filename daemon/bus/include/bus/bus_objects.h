// The D-Bus objects of hotplugfs: the Manager1 object, one MemoryBlock1 object per present
// block and one MemoryDevice1 object per configured device (docs/dbus.md).
//
// Each mutating method is a write to the emulated file the kernel would offer for it, or a
// model operation, so the bus and the mount can never disagree and errors are the kernel's.
#pragma once

#include <systemd/sd-bus.h>

#include <string>
#include <vector>

#include "bus/bus_backend.h"
#include "hotplug/params.h"

namespace hotplugfs::bus {

// Adds every object to `bus`; the slots live as long as the connection. `backend` must
// outlive the connection. Returns 0 or a negative errno.
int add_objects(sd_bus* bus, Backend& backend);

// The machine as JSON (GetState): blocks as runs of equal state/zones/node, nodes, devices,
// parameters and the last SEQNUM.
std::string state_json(const Backend& backend);

// The Manager1 vtable: fixed properties, one property per hotplug::param_table() row that
// names one, the methods and the signals.
const sd_bus_vtable* manager_vtable();
// The parameter properties whose values differ between two parameter sets: what a
// PropertiesChanged signal names. Each is a C string.
std::vector<const char*> changed_parameter_properties(const hotplug::Params& before,
                                                      const hotplug::Params& after);

}  // namespace hotplugfs::bus
