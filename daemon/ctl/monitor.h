// `hotplugctl monitor`: prints hotplugfsd's events live, in `udevadm monitor` format.
#pragma once

namespace hotplugfs::ctl {

int monitor_main(int argc, char** argv);  // argv[0] is "monitor"

}  // namespace hotplugfs::ctl
