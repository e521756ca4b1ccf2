#include <catch2/catch.hpp>

#include "fdstore/fuse_keeper.h"

using namespace hotplugfs;
using namespace hotplugfs::fdstore;

TEST_CASE("a fuse-init record reads back as written, binary bytes and odd paths included") {
    const InitRecord record{"/run/with space\\and\ttab", "0:58",
                            InitExchange{std::string("\x38\0\0\0\x1a\n\xff", 7), "\x01\x02"}};
    std::string why;
    const auto back = parse_init_record(format_init_record(record), why);
    REQUIRE(back);
    CHECK(why.empty());
    CHECK(back->device == "0:58");
    CHECK(back->init.request == record.init.request);
    CHECK(back->init.reply == record.init.reply);
    // Kept as /proc/self/mountinfo spells it, which is what it is compared with.
    CHECK(back->mountpoint == "/run/with\\040space\\134and\\011tab");
}

TEST_CASE("anything but a complete record of this version is refused, with the reason") {
    std::string why;
    CHECK_FALSE(parse_init_record("", why));
    CHECK(why.find("version 1") != std::string::npos);
    CHECK_FALSE(parse_init_record("hotplugfs-fuse-init 2\n", why));
    const std::string good = format_init_record({"/m", "0:1", InitExchange{"ab", "cd"}});
    CHECK(parse_init_record(good, why));
    const std::string no_reply = good.substr(0, good.find("reply "));
    CHECK_FALSE(parse_init_record(no_reply, why));
    CHECK(why == "the fuse-init record is incomplete");
    std::string bad_hex = good;
    bad_hex.replace(bad_hex.find("request ") + 8, 2, "zz");
    CHECK_FALSE(parse_init_record(bad_hex, why));
}
