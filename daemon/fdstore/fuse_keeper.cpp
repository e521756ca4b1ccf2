#include "fdstore/fuse_keeper.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "fdstore/fd_store.h"

namespace hotplugfs::fdstore {
namespace {

constexpr const char* kMagic = "hotplugfs-fuse-init 1";

std::string to_hex(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::optional<std::string> from_hex(const std::string& hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    if (hex.size() % 2) return std::nullopt;
    std::string out;
    for (size_t i = 0; i < hex.size(); i += 2) {
        const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi << 4 | lo);
    }
    return out;
}

// /proc/self/mountinfo's escaping of a mount point.
std::string escape_path(const std::string& path) {
    std::string out;
    for (char c : path) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\%03o", static_cast<unsigned char>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

// A connection whose mount went away (unmounted, or aborted) reports POLLERR.
bool connection_alive(int fd) {
    pollfd p{fd, 0, 0};
    return poll(&p, 1, 0) >= 0 && !(p.revents & (POLLERR | POLLNVAL));
}

void give_up(const std::string& why) {
    spdlog::warn("not taking over the FUSE connection handed back: {}; mounting afresh", why);
    remove(kFuseName);
    remove(kInitName);
}

}  // namespace

std::string format_init_record(const InitRecord& record) {
    std::ostringstream out;
    out << kMagic << '\n'
        << "mountpoint " << escape_path(record.mountpoint) << '\n'
        << "device " << record.device << '\n'
        << "request " << to_hex(record.init.request) << '\n'
        << "reply " << to_hex(record.init.reply) << '\n';
    return out.str();
}

std::optional<InitRecord> parse_init_record(const std::string& text, std::string& why) {
    std::istringstream in(text);
    std::string line;
    if (!std::getline(in, line) || line != kMagic) {
        why = "not a hotplugfs fuse-init record of version 1";
        return std::nullopt;
    }
    InitRecord record;
    std::string escaped_mountpoint, request, reply;
    while (std::getline(in, line)) {
        const auto space = line.find(' ');
        const std::string key = line.substr(0, space);
        const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
        if (key == "mountpoint")
            escaped_mountpoint = value;
        else if (key == "device")
            record.device = value;
        else if (key == "request")
            request = value;
        else if (key == "reply")
            reply = value;
    }
    auto req = from_hex(request);
    auto rep = from_hex(reply);
    if (escaped_mountpoint.empty() || record.device.empty() || !req || !rep || req->empty() ||
        rep->empty()) {
        why = "the fuse-init record is incomplete";
        return std::nullopt;
    }
    // Kept escaped: compared with escape_path() of the daemon's mount point.
    record.mountpoint = escaped_mountpoint;
    record.init = InitExchange{std::move(*req), std::move(*rep)};
    return record;
}

std::string mount_device(const std::string& mountpoint) {
    std::ifstream in("/proc/self/mountinfo");
    const std::string want = escape_path(mountpoint);
    std::string line, device;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, point;
        fields >> id >> parent >> dev >> root >> point;
        if (point == want) device = dev;  // the last one: what the path shows
    }
    return device;
}

std::optional<FuseResume> take_fuse_connection(const std::string& mountpoint) {
    auto passed = take_passed();
    return take_fuse_connection(passed, mountpoint);
}

std::optional<FuseResume> take_fuse_connection(
    std::multimap<std::string, sandbox::UniqueFd>& passed, const std::string& mountpoint) {
    auto fuse = passed.find(kFuseName);
    auto init = passed.find(kInitName);
    if (fuse == passed.end() && init == passed.end()) return std::nullopt;
    if (fuse == passed.end() || init == passed.end() || passed.count(kFuseName) != 1 ||
        passed.count(kInitName) != 1) {
        give_up("expected one \"fuse\" and one \"fuse-init\" descriptor");
        return std::nullopt;
    }
    std::string why;
    auto record = parse_init_record(read_bytes(init->second.get()), why);
    if (!record) {
        give_up(why);
        return std::nullopt;
    }
    if (record->mountpoint != escape_path(mountpoint)) {
        give_up("it was mounted at " + record->mountpoint + ", not " + mountpoint);
        return std::nullopt;
    }
    if (!connection_alive(fuse->second.get())) {
        give_up("the connection is closed (unmounted)");
        return std::nullopt;
    }
    if (mount_device(mountpoint) != record->device) {
        give_up("it is no longer the mount at " + mountpoint);
        return std::nullopt;
    }
    return FuseResume{std::move(fuse->second), std::move(record->init), {}};
}

void keep_fuse_connection(const std::string& mountpoint, const FuseConnection& connection) {
    if (!available()) return;
    const std::string device = mount_device(mountpoint);
    if (device.empty()) {
        spdlog::warn("{} is not in the mount table: the FUSE connection is not kept", mountpoint);
        return;
    }
    const std::string record = format_init_record({mountpoint, device, connection.init});
    // "fuse-init" first: a "fuse" without it cannot be resumed.
    std::string why = store_bytes(kInitName, record);
    if (why.empty()) why = store(kFuseName, connection.fd);
    if (!why.empty()) {
        spdlog::warn("cannot keep the FUSE connection in the file-descriptor store: {}", why);
        remove(kInitName);
        return;
    }
    spdlog::debug("the FUSE connection of {} is in the file-descriptor store", mountpoint);
}

void release_fuse_connection() {
    if (!available()) return;
    remove(kFuseName);
    remove(kInitName);
}

}  // namespace hotplugfs::fdstore
