// BusConnection (bus_client.h).
#include "bus_client.h"

#include <cstring>
#include <stdexcept>

namespace load {

BusConnection::BusConnection(const std::string& address) {
    int r = sd_bus_new(&bus_);
    if (r >= 0) r = sd_bus_set_address(bus_, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(bus_, 1);
    if (r >= 0) r = sd_bus_start(bus_);
    if (r < 0) {
        if (bus_) sd_bus_unref(bus_);
        throw std::runtime_error("cannot connect to " + address + ": " + std::strerror(-r));
    }
}

BusConnection::~BusConnection() {
    sd_bus_flush_close_unref(bus_);
}

}  // namespace load
