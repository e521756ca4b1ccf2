// The client side of the daemon's D-Bus API (docs/dbus.md), as the load checks use it: names,
// and a connection to a bus or to the daemon's private socket (which answers Hello and
// AddMatch for the bus it stands in for).
#pragma once

#include <systemd/sd-bus.h>

#include <string>

namespace load {

inline constexpr const char* kBusName = "org.hotplugfs.HotplugFS";
inline constexpr const char* kManagerPath = "/org/hotplugfs/HotplugFS";
inline constexpr const char* kManagerInterface = "org.hotplugfs.Manager1";
inline constexpr const char* kBlockInterface = "org.hotplugfs.MemoryBlock1";

// An sd-bus client connection to `address` (unix:path=...), started; unref'd on destruction.
class BusConnection {
  public:
    explicit BusConnection(const std::string& address);  // throws on failure
    ~BusConnection();
    BusConnection(const BusConnection&) = delete;
    BusConnection& operator=(const BusConnection&) = delete;
    sd_bus* get() const { return bus_; }

  private:
    sd_bus* bus_ = nullptr;
};

}  // namespace load
