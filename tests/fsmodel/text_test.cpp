// The kernel's text conventions: sysfs_streq, kstrtobool, kstrtoull/kstrtouint, node lists.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fsmodel/text.h"

using namespace std::string_literals;
using fsmodel::kstrtobool;
using fsmodel::kstrtoull;
using fsmodel::kstrtouint;
using fsmodel::sysfs_streq;

TEST_CASE("sysfs_streq: exact match with at most one trailing newline", "[text]") {
    struct Row {
        std::string_view written;
        bool equal;
    };
    const Row rows[] = {
        {"online", true},       {"online\n", true},    {"online\n\n", false},
        {" online", false},     {"online ", false},    {"ONLINE", false},
        {"offlinex", false},    {"onlin", false},      {"", false},
        {"\n", false},          {"online\r\n", false}, {"\nonline", false},
        {"online\nx", false},
    };
    for (const auto& r : rows) {
        INFO("written: '" << r.written << "'");
        CHECK(sysfs_streq(r.written, "online") == r.equal);
        // Symmetric, as in the kernel.
        CHECK(sysfs_streq("online", r.written) == r.equal);
    }
    CHECK(sysfs_streq("", ""));
    CHECK(sysfs_streq("\n", ""));
    // The kernel's loop stops at the end of the shorter string, so one newline on each side
    // of the comparison is tolerated: "online\n" vs "online\n\n" is equal, as in the kernel.
    CHECK(sysfs_streq("online\n", "online\n\n"));
    CHECK(sysfs_streq("online\n", "online\n"));
}

TEST_CASE("as_c_string stops at the first NUL", "[text]") {
    CHECK(fsmodel::as_c_string("online"s) == "online");
    CHECK(fsmodel::as_c_string("online\0garbage"s) == "online");
    CHECK(fsmodel::as_c_string("\0online"s).empty());
    CHECK(fsmodel::as_c_string("").empty());
}

TEST_CASE("kstrtobool: every case of the spec's list", "[text]") {
    struct Row {
        std::string_view text;
        std::optional<bool> value;
    };
    const Row rows[] = {
        {"y", true},      {"Y", true},        {"t", true},      {"T", true},
        {"1", true},      {"n", false},       {"N", false},     {"f", false},
        {"F", false},     {"0", false},       {"on", true},     {"ON", true},
        {"oN", true},     {"On", true},       {"of", false},    {"off", false},
        {"OF", false},    {"oF", false},      {"Off", false},   {"1abc", true},
        {"yes", true},    {"true", true},     {"online", true}, {"offline", false},
        {"no", false},    {"false", false},   {"1\n", true},    {"0\n", false},
        {"y\n\n", true},  {"o", std::nullopt}, {"O", std::nullopt}, {"ox", std::nullopt},
        {"o\n", std::nullopt}, {"", std::nullopt}, {" 1", std::nullopt},
        {"2", std::nullopt}, {"\n", std::nullopt}, {"-1", std::nullopt},
        {"x", std::nullopt}, {"\t1", std::nullopt},
    };
    for (const auto& r : rows) {
        INFO("text: '" << r.text << "'");
        CHECK(kstrtobool(r.text) == r.value);
    }
}

TEST_CASE("kstrtoull: bases, prefixes, newline and errors", "[text]") {
    struct Row {
        std::string_view text;
        unsigned base;
        int err;
        uint64_t value;
    };
    const Row rows[] = {
        // base 0: 0x.. hex, 0.. octal, else decimal
        {"0x10", 0, 0, 16},
        {"0X1f", 0, 0, 31},
        {"0xABCdef", 0, 0, 0xabcdef},
        {"010", 0, 0, 8},
        {"0", 0, 0, 0},
        {"00", 0, 0, 0},
        {"10", 0, 0, 10},
        {"+5", 0, 0, 5},
        {"+0x10", 0, 0, 16},
        {"5\n", 0, 0, 5},
        {"0x440000000\n", 0, 0, 0x440000000},
        {"08", 0, EINVAL, 0},  // octal has no 8
        {"0x", 0, EINVAL, 0},  // "0" then garbage
        {"0xg", 0, EINVAL, 0},
        {"5\n\n", 0, EINVAL, 0},
        {"", 0, EINVAL, 0},
        {"\n", 0, EINVAL, 0},
        {"+", 0, EINVAL, 0},
        {"++5", 0, EINVAL, 0},
        {"-5", 0, EINVAL, 0},
        {" 5", 0, EINVAL, 0},
        {"5 ", 0, EINVAL, 0},
        {"12abc", 0, EINVAL, 0},
        {"abc", 0, EINVAL, 0},
        {"18446744073709551615", 0, 0, UINT64_MAX},
        {"18446744073709551616", 0, ERANGE, 0},
        {"0xffffffffffffffff", 0, 0, UINT64_MAX},
        {"0x10000000000000000", 0, ERANGE, 0},
        {"01777777777777777777777", 0, 0, UINT64_MAX},
        {"02000000000000000000000", 0, ERANGE, 0},
        // overflow wins over trailing garbage, as in _kstrtoull
        {"99999999999999999999x", 0, ERANGE, 0},
        // base 8
        {"17", 8, 0, 15},
        {"017", 8, 0, 15},
        {"8", 8, EINVAL, 0},
        {"0x10", 8, EINVAL, 0},
        // base 10
        {"0100", 10, 0, 100},
        {"42\n", 10, 0, 42},
        {"0x10", 10, EINVAL, 0},
        {"1a", 10, EINVAL, 0},
        {"18446744073709551616", 10, ERANGE, 0},
        // base 16: optional 0x prefix
        {"ff", 16, 0, 255},
        {"0xff", 16, 0, 255},
        {"0XFF\n", 16, 0, 255},
        {"8000000", 16, 0, 0x8000000},
        {"0x", 16, EINVAL, 0},
        {"0xg", 16, EINVAL, 0},
        {"g", 16, EINVAL, 0},
        {"10000000000000000", 16, ERANGE, 0},
    };
    for (const auto& r : rows) {
        INFO("text: '" << r.text << "' base " << r.base);
        uint64_t v = 12345;
        CHECK(kstrtoull(r.text, r.base, v) == r.err);
        if (r.err == 0) CHECK(v == r.value);
        else CHECK(v == 12345);  // untouched on failure
    }
}

TEST_CASE("kstrtouint: 32-bit range", "[text]") {
    unsigned v = 7;
    CHECK(kstrtouint("4294967295", 0, v) == 0);
    CHECK(v == 4294967295u);
    CHECK(kstrtouint("4294967296", 0, v) == ERANGE);
    CHECK(kstrtouint("0x100000000", 0, v) == ERANGE);
    CHECK(kstrtouint("99999999999999999999", 10, v) == ERANGE);
    CHECK(kstrtouint("301\n", 0, v) == 0);
    CHECK(v == 301);
    CHECK(kstrtouint("-1", 0, v) == EINVAL);
    CHECK(kstrtouint("x", 0, v) == EINVAL);
    CHECK(v == 301);
}

TEST_CASE("format_list: ranges and singles", "[text]") {
    struct Row {
        std::vector<int> ids;
        std::string_view text;
    };
    const Row rows[] = {
        {{}, ""},
        {{0}, "0"},
        {{0, 1}, "0-1"},
        {{0, 1, 3}, "0-1,3"},
        {{0, 2, 4}, "0,2,4"},
        {{1, 2, 3, 5, 6, 9}, "1-3,5-6,9"},
        {{7, 8, 9, 10, 11}, "7-11"},
    };
    for (const auto& r : rows) {
        INFO("expected " << r.text);
        CHECK(fsmodel::format_list(r.ids) == r.text);
    }
}
