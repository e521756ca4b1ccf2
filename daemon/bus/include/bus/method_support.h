// What every D-Bus method needs: who may call it, and the words it takes.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "bus/bus_backend.h"

namespace hotplugfs::bus {

// Mutating methods: root, or a member of the hotplugfs group. Returns 0 or a negative errno
// with `error` set (EPERM).
int require_admin(sd_bus_message* m, sd_bus_error* error);

// An online type as the state file takes it: "" and "online" are the kernel's default,
// "kernel"/"online_kernel" and "movable"/"online_movable" choose the zone. Returns 0, or
// -EINVAL with `error` set.
int online_word(const char* type, std::string& out, sd_bus_error* error);

Backend& backend_of(void* userdata);

// Mutating methods run through Backend::defer: in call order, off the bus thread (each may
// wait for the model while an offline migrates slowly), answered when done.
//
// A method whose effect is one write to a file of the tree (relative `path`); a failed write
// becomes the errno's error, prefixed with the path.
int reply_write(sd_bus_message* m, const Backend& b, std::string path, std::string data);
// A method that is one model operation; a failure carries the model's message (or `what`).
int reply_apply(sd_bus_message* m, const Backend& b, std::string what,
                std::function<hotplug::Outcome(hotplug::Machine&)> op);

// "devices/system/memory/memoryN/FILE".
std::string block_path(uint64_t block, const char* file);

// Plug (nullopt: the whole size) or resize (bytes) of a device: a write to its `plugged`.
int device_write(sd_bus_message* m, sd_bus_error* error, const Backend& b, const char* name,
                 std::optional<uint64_t> bytes);
// Unplug of a device: all of its memory, and a device added at runtime goes away with it
// (for a configured device the same as writing 0 to `plugged`).
int device_unplug(sd_bus_message* m, sd_bus_error* error, const Backend& b, const char* name);

}  // namespace hotplugfs::bus
