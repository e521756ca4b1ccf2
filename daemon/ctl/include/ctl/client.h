// The connection hotplugctl talks through, and the calls it makes.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hotplugfs::ctl {

// Where the daemon is: the private socket of a runtime directory (default /run/hotplugfs,
// or $HOTPLUGFS_ROOT), a D-Bus address, or the system/session bus.
struct Target {
    std::optional<std::string> root;     // --root DIR: DIR/bus
    std::optional<std::string> address;  // --address ADDR
    std::optional<std::string> bus;      // --system / --user
};

struct GlobalOptions {
    Target target;
    bool json = false;
};

// Parses the global options in front of the command; returns the index of the command word,
// or -1 after printing a usage error.
int parse_global(int argc, char** argv, GlobalOptions& out);

class Client {
  public:
    // Connects or throws std::runtime_error naming what it tried.
    explicit Client(const Target& target);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    sd_bus* bus() const { return bus_; }
    // A method of Manager1 (or of `path`/`interface`); `fill` appends the arguments. On
    // failure returns false with `error` set (errno and the daemon's message).
    bool call(const char* member, const std::function<int(sd_bus_message*)>& fill,
              sd_bus_message** reply, sd_bus_error* error, const char* path = nullptr,
              const char* interface = nullptr);

  private:
    sd_bus* bus_ = nullptr;
};

// "1G", "512M", "0x8000000", "4096" -> bytes (K/M/G/T are powers of 1024).
std::optional<uint64_t> parse_size(const std::string& text);
// A block given as "72" or "memory72".
std::optional<uint64_t> parse_block(const std::string& text);
// Bytes in lsmem's style: "128M", "1.5G", "4G".
std::string format_size(uint64_t bytes);

}  // namespace hotplugfs::ctl
