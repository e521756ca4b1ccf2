#include "sandbox/udev_message.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <set>

namespace hotplugfs::sandbox {
namespace {

constexpr std::uint32_t kUdevMagic = 0xfeedcafe;

// systemd's monitor_netlink_header. Fields the listeners' BPF filter reads (magic and the
// hashes) are in network byte order; the sizes and offsets are in host order.
struct Header {
    char prefix[8];
    std::uint32_t magic;
    std::uint32_t header_size;
    std::uint32_t properties_off;
    std::uint32_t properties_len;
    std::uint32_t filter_subsystem_hash;
    std::uint32_t filter_devtype_hash;
    std::uint32_t filter_tag_bloom_hi;
    std::uint32_t filter_tag_bloom_lo;
};
static_assert(sizeof(Header) == 40, "listeners check offsets against this exact layout");

// The actions sd-device accepts; anything else makes listeners drop the message.
constexpr std::array<std::string_view, 8> kActions = {"add",    "remove",  "change", "move",
                                                      "online", "offline", "bind",   "unbind"};

std::string check_required(const UdevProperties& properties) {
    std::string_view action, devpath, subsystem, seqnum;
    for (const auto& [key, value] : properties) {
        if (key == "ACTION") action = value;
        if (key == "DEVPATH") devpath = value;
        if (key == "SUBSYSTEM") subsystem = value;
        if (key == "SEQNUM") seqnum = value;
    }
    if (std::find(kActions.begin(), kActions.end(), action) == kActions.end())
        return "ACTION '" + std::string(action) + "' is not a uevent action";
    if (devpath.empty() || devpath.front() != '/') return "DEVPATH must start with '/'";
    if (subsystem.empty()) return "SUBSYSTEM is missing";
    std::uint64_t number = 0;
    const auto [end, ec] = std::from_chars(seqnum.data(), seqnum.data() + seqnum.size(), number);
    if (ec != std::errc() || end != seqnum.data() + seqnum.size() || number == 0)
        return "SEQNUM must be a positive decimal number";
    return "";
}

std::string check_properties(const UdevProperties& properties) {
    std::set<std::string_view> seen;
    for (const auto& [key, value] : properties) {
        if (key.empty() || key.find_first_of(std::string_view("=\0\n", 3)) != std::string::npos)
            return "property name '" + key + "' is empty or has '=', a newline or a NUL byte";
        if (value.find('\0') != std::string::npos) return "property " + key + " has a NUL byte";
        if (!seen.insert(key).second) return "property " + key + " appears twice";
    }
    return check_required(properties);
}

std::string_view property(const UdevProperties& properties, std::string_view key) {
    for (const auto& [k, v] : properties)
        if (k == key) return v;
    return {};
}

// TAGS (and CURRENT_TAGS, a subset) are ":tag1:tag2:" lists.
std::uint64_t tag_bloom(const UdevProperties& properties) {
    std::uint64_t bits = 0;
    for (std::string_view key : {"TAGS", "CURRENT_TAGS"}) {
        std::string_view list = property(properties, key);
        while (!list.empty()) {
            const std::size_t colon = std::min(list.find(':'), list.size());
            if (colon > 0) bits |= udev_tag_bloom(list.substr(0, colon));
            list.remove_prefix(std::min(colon + 1, list.size()));
        }
    }
    return bits;
}

}  // namespace

std::uint32_t murmur_hash2(std::string_view data, std::uint32_t seed) {
    constexpr std::uint32_t m = 0x5bd1e995;
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t len = data.size();
    std::uint32_t h = seed ^ static_cast<std::uint32_t>(len);
    for (; len >= 4; len -= 4, p += 4) {
        std::uint32_t k = std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 |
                          std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h = (h * m) ^ k;
    }
    // The trailing 1-3 bytes, highest first, then one multiplication.
    if (len > 0) {
        if (len == 3) h ^= std::uint32_t{p[2]} << 16;
        if (len >= 2) h ^= std::uint32_t{p[1]} << 8;
        h ^= p[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

std::uint64_t udev_tag_bloom(std::string_view tag) {
    const std::uint32_t hash = murmur_hash2(tag, 0);
    std::uint64_t bits = 0;
    for (int shift : {0, 6, 12, 18}) bits |= std::uint64_t{1} << ((hash >> shift) & 63);
    return bits;
}

std::string encode_udev_message(const UdevProperties& properties, std::string& out) {
    out.clear();
    if (std::string why = check_properties(properties); !why.empty()) return why;
    std::string body;
    for (const auto& [key, value] : properties) {
        body += key;
        body += '=';
        body += value;
        body += '\0';
    }
    if (sizeof(Header) + body.size() > kMaxUdevMessage)
        return "the event is " + std::to_string(sizeof(Header) + body.size()) +
               " bytes; listeners take at most " + std::to_string(kMaxUdevMessage);
    Header h{};
    std::memcpy(h.prefix, "libudev", 8);
    h.magic = htonl(kUdevMagic);
    h.header_size = sizeof(Header);
    h.properties_off = sizeof(Header);
    h.properties_len = static_cast<std::uint32_t>(body.size());
    h.filter_subsystem_hash = htonl(murmur_hash2(property(properties, "SUBSYSTEM"), 0));
    // No DEVTYPE: the hash stays 0, as udevd leaves it.
    if (std::string_view devtype = property(properties, "DEVTYPE"); !devtype.empty())
        h.filter_devtype_hash = htonl(murmur_hash2(devtype, 0));
    const std::uint64_t bloom = tag_bloom(properties);
    h.filter_tag_bloom_hi = htonl(static_cast<std::uint32_t>(bloom >> 32));
    h.filter_tag_bloom_lo = htonl(static_cast<std::uint32_t>(bloom & 0xffffffffU));
    out.assign(reinterpret_cast<const char*>(&h), sizeof h);
    out += body;
    return "";
}

}  // namespace hotplugfs::sandbox
