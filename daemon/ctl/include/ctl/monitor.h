// `hotplugctl monitor`: prints hotplugfsd's events live, in `udevadm monitor` format.
#pragma once

#include "ctl/client.h"

namespace hotplugfs::ctl {

// From the daemon's D-Bus Uevent signals, or from its --event-log FILE when given.
int monitor_main(int argc, char** argv, const GlobalOptions& global);  // argv[0] is "monitor"

}  // namespace hotplugfs::ctl
