// The message systemd-udevd (252) multicasts to its listeners after rule processing: what
// `udevadm monitor --udev` and every libudev/sd-device monitor receive.
//
// Layout: a 40-byte header (the "libudev" prefix, a magic, offsets, and hashes that listeners
// filter on in the kernel with BPF) followed by the properties as KEY=VALUE strings, each ending
// in a NUL byte. Listeners drop, without a word, messages whose sender is not uid 0, whose magic
// or offsets are wrong, that lack ACTION, DEVPATH, SUBSYSTEM or a non-zero SEQNUM, whose ACTION
// is not a known action, or that do not fit their 8 KiB receive buffer; encode_udev_message()
// refuses those up front so the failure is visible to the sender.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hotplugfs::sandbox {

using UdevProperties = std::vector<std::pair<std::string, std::string>>;

// The netlink multicast group udevd sends to (the kernel's own uevents go to group 1).
inline constexpr std::uint32_t kUdevMonitorGroup = 2;
// Listeners receive into a buffer of this size and discard truncated messages.
inline constexpr std::size_t kMaxUdevMessage = 8192;

// Austin Appleby's 32-bit MurmurHash2 over little-endian 4-byte words, as udev hashes the
// SUBSYSTEM, DEVTYPE and tags for its filters.
std::uint32_t murmur_hash2(std::string_view data, std::uint32_t seed);

// The 64-bit bloom filter udev derives from one tag (four bits picked from its hash).
std::uint64_t udev_tag_bloom(std::string_view tag);

// Builds the complete message for `properties` (in the given order) into `out`. Returns "" on
// success, else why the message would be ignored by listeners (and `out` is left empty).
std::string encode_udev_message(const UdevProperties& properties, std::string& out);

}  // namespace hotplugfs::sandbox
