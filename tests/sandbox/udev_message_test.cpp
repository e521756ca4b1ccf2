// The udev monitor message: header layout, hashes, and the events listeners would drop.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <cstring>

#include "sandbox/udev_message.h"

namespace sb = hotplugfs::sandbox;

namespace {

sb::UdevProperties memory_add() {
    return {{"ACTION", "add"},
            {"DEVPATH", "/devices/system/memory/memory6"},
            {"SUBSYSTEM", "memory"},
            {"SEQNUM", "4242"},
            {"USEC_INITIALIZED", "123"}};
}

std::uint32_t word(const std::string& message, std::size_t offset) {
    std::uint32_t w = 0;
    std::memcpy(&w, message.data() + offset, sizeof w);
    return w;
}

}  // namespace

TEST_CASE("murmur_hash2 matches udev's hash", "[udev-message]") {
    CHECK(sb::murmur_hash2("", 0) == 0);
    CHECK(sb::murmur_hash2("a", 0) == 0x92685f5eU);
    CHECK(sb::murmur_hash2("ab", 0) == 0x1aa14063U);
    CHECK(sb::murmur_hash2("abc", 0) == 0x13577c9bU);
    CHECK(sb::murmur_hash2("memory", 0) == 0x86e45acfU);
    CHECK(sb::murmur_hash2("systemd", 0) == 0xa75f972aU);
}

TEST_CASE("an event is encoded as udevd's monitor message", "[udev-message]") {
    std::string msg;
    REQUIRE(sb::encode_udev_message(memory_add(), msg) == "");
    static constexpr char kBody[] =
        "ACTION=add\0DEVPATH=/devices/system/memory/memory6\0SUBSYSTEM=memory\0"
        "SEQNUM=4242\0USEC_INITIALIZED=123\0";
    const std::string body(kBody, sizeof kBody - 1);
    REQUIRE(msg.size() == 40 + body.size());
    CHECK(std::memcmp(msg.data(), "libudev\0", 8) == 0);
    CHECK(word(msg, 8) == htonl(0xfeedcafe));
    CHECK(word(msg, 12) == 40);           // header_size, host order
    CHECK(word(msg, 16) == 40);           // properties_off
    CHECK(word(msg, 20) == body.size());  // properties_len
    CHECK(word(msg, 24) == htonl(0x86e45acfU));
    CHECK(word(msg, 28) == 0);  // no DEVTYPE
    CHECK(word(msg, 32) == 0);  // no tags
    CHECK(word(msg, 36) == 0);
    CHECK(msg.substr(40) == body);
}

TEST_CASE("DEVTYPE and tags fill the filter fields", "[udev-message]") {
    sb::UdevProperties p = memory_add();
    p.emplace_back("DEVTYPE", "abc");
    p.emplace_back("TAGS", ":systemd:");
    std::string msg;
    REQUIRE(sb::encode_udev_message(p, msg) == "");
    CHECK(word(msg, 28) == htonl(0x13577c9bU));
    const std::uint64_t bloom = sb::udev_tag_bloom("systemd");
    CHECK(bloom != 0);
    CHECK(word(msg, 32) == htonl(static_cast<std::uint32_t>(bloom >> 32)));
    CHECK(word(msg, 36) == htonl(static_cast<std::uint32_t>(bloom)));
}

TEST_CASE("events listeners would drop are refused", "[udev-message]") {
    std::string msg;
    auto without = [](const std::string& key) {
        sb::UdevProperties p = memory_add();
        std::erase_if(p, [&](const auto& kv) { return kv.first == key; });
        return p;
    };
    CHECK(sb::encode_udev_message(without("ACTION"), msg) != "");
    CHECK(sb::encode_udev_message(without("DEVPATH"), msg) != "");
    CHECK(sb::encode_udev_message(without("SUBSYSTEM"), msg) != "");
    CHECK(sb::encode_udev_message(without("SEQNUM"), msg) != "");
    CHECK(msg.empty());

    sb::UdevProperties p = memory_add();
    p[0].second = "plugged";
    CHECK(sb::encode_udev_message(p, msg) != "");
    p = memory_add();
    p[3].second = "0";
    CHECK(sb::encode_udev_message(p, msg) != "");
    p = memory_add();
    p.emplace_back("BAD=KEY", "x");
    CHECK(sb::encode_udev_message(p, msg) != "");
    p = memory_add();
    p.emplace_back("SEQNUM", "5");
    CHECK(sb::encode_udev_message(p, msg) != "");
    p = memory_add();
    p.emplace_back("BIG", std::string(sb::kMaxUdevMessage, 'x'));
    CHECK(sb::encode_udev_message(p, msg) != "");
}
