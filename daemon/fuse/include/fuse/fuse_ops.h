// The FUSE low-level operation table.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

namespace hotplugfs {

const fuse_lowlevel_ops& fuse_operations();

}  // namespace hotplugfs
