// `hotplugctl record`: a live or captured memory sysfs written out as a configuration.
#pragma once

#include <string>
#include <vector>

namespace hotplugfs::ctl {

// The arguments after "record"; returns the exit code (2: usage or input it cannot record).
int record_command(const std::vector<std::string>& args);

}  // namespace hotplugfs::ctl
