// `hotplugctl run`: a program with the emulated memory sysfs in place of the host's.
#pragma once

namespace hotplugfs::ctl {

int run_main(int argc, char** argv);  // argv[0] is "run"

}  // namespace hotplugfs::ctl
