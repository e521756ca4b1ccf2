// The D-Bus names of hotplugfs (docs/dbus.md describes the API).
#pragma once

namespace hotplugfs::bus {

inline constexpr const char* kBusName = "org.hotplugfs.HotplugFS";
inline constexpr const char* kManagerPath = "/org/hotplugfs/HotplugFS";
inline constexpr const char* kBlockPrefix = "/org/hotplugfs/HotplugFS/block";
inline constexpr const char* kDevicePrefix = "/org/hotplugfs/HotplugFS/device";
inline constexpr const char* kManagerInterface = "org.hotplugfs.Manager1";
inline constexpr const char* kBlockInterface = "org.hotplugfs.MemoryBlock1";
inline constexpr const char* kDeviceInterface = "org.hotplugfs.MemoryDevice1";
// Errors are "org.hotplugfs.Error.<ERRNO NAME>" (EINVAL, EBUSY, ...): the name carries the errno.
inline constexpr const char* kErrorPrefix = "org.hotplugfs.Error.";
// The private peer-to-peer socket in the daemon's runtime directory.
inline constexpr const char* kSocketName = "bus";
// Members of this group may call mutating methods, as root may.
inline constexpr const char* kAdminGroup = "hotplugfs";

}  // namespace hotplugfs::bus
