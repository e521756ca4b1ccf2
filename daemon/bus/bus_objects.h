// The D-Bus objects of hotplugfs: the Manager1 object, one MemoryBlock1 object per present
// block and one MemoryDevice1 object per configured device (docs/dbus.md).
//
// Each mutating method is a write to the emulated file the kernel would offer for it, or a
// model operation, so the bus and the mount can never disagree and errors are the kernel's.
#pragma once

#include <systemd/sd-bus.h>

#include <string>

#include "bus/bus_backend.h"

namespace hotplugfs::bus {

// Adds every object to `bus`; the slots live as long as the connection. `backend` must
// outlive the connection. Returns 0 or a negative errno.
int add_objects(sd_bus* bus, Backend& backend);

// The machine as JSON (GetState): blocks as runs of equal state/zones/node, nodes, devices,
// parameters and the last SEQNUM.
std::string state_json(const Backend& backend);

// Names of the Manager1 properties that follow the module parameters.
extern const char* const kParameterProperties[];

}  // namespace hotplugfs::bus
