// Mount-point checks before mounting: clear a stale mount a killed daemon left behind, and
// refuse to stack on a live one.
#pragma once

#include <string>

namespace hotplugfs {

// Returns an empty string when the mount point is usable, else the reason it is not.
std::string prepare_mountpoint(const std::string& path);

}  // namespace hotplugfs
