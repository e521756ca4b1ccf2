// Synthetic uevents written to `uevent` files (the kernel's kobject_synth_uevent).
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "fsmodel_support.h"

using namespace fstest;
using namespace std::string_literals;

namespace {

using Props = std::vector<std::pair<std::string, std::string>>;
constexpr const char* kUuid = "11111111-2222-3333-4444-555555555555";

// Writes `data` and returns the single event it emitted (REQUIREs success).
hotplug::Uevent emit(const fsmodel::Tree& t, hotplug::Machine& m, const std::string& path,
                     const std::string& data) {
    hotplug::Outcome out;
    INFO(path << " <- '" << data << "'");
    REQUIRE(write_path(t, m, path, data, &out) == static_cast<long>(data.size()));
    REQUIRE(out.events.size() == 1);
    CHECK(out.changes.empty());
    return out.events[0];
}

}  // namespace

TEST_CASE("uevent: the reference capture", "[uevent][reference]") {
    auto m = reference_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string m5 = "devices/system/memory/memory5/uevent";
    const std::string m6 = "devices/system/memory/memory6/uevent";

    const auto change = emit(t, m, m5, "change\n");
    const uint64_t first = change.seqnum;
    CHECK(change.properties() == Props{{"ACTION", "change"},
                                       {"DEVPATH", "/devices/system/memory/memory5"},
                                       {"SUBSYSTEM", "memory"},
                                       {"SYNTH_UUID", "0"},
                                       {"SEQNUM", std::to_string(first)}});

    const auto add = emit(t, m, m6, "add "s + kUuid + " FOO=bar\n");
    CHECK(add.properties() == Props{{"ACTION", "add"},
                                    {"DEVPATH", "/devices/system/memory/memory6"},
                                    {"SUBSYSTEM", "memory"},
                                    {"SYNTH_UUID", kUuid},
                                    {"SYNTH_ARG_FOO", "bar"},
                                    {"SEQNUM", std::to_string(first + 1)}});

    hotplug::Outcome bogus;
    CHECK(write_path(t, m, m6, "bogus\n", &bogus) == -EINVAL);
    CHECK(bogus.events.empty());
    CHECK(m.last_seqnum() == first + 1);

    const auto online = emit(t, m, m6, "online\n");
    CHECK(online.properties() == Props{{"ACTION", "online"},
                                       {"DEVPATH", "/devices/system/memory/memory6"},
                                       {"SUBSYSTEM", "memory"},
                                       {"SYNTH_UUID", "0"},
                                       {"SEQNUM", std::to_string(first + 2)}});
    // The file still reads empty and the block did not change.
    CHECK(read_path(t, m, m6).empty());
    CHECK(read_path(t, m, "devices/system/memory/memory6/state") == "online\n");
}

TEST_CASE("uevent: every action word, with and without newline", "[uevent]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string path = "devices/system/memory/memory72/uevent";
    uint64_t last = m.last_seqnum();
    for (const char* action :
         {"add", "remove", "change", "move", "online", "offline", "bind", "unbind"}) {
        for (const std::string& suffix : {""s, "\n"s}) {
            const auto e = emit(t, m, path, action + suffix);
            CHECK(e.action == action);
            CHECK(e.seqnum > last);  // strictly increasing
            last = e.seqnum;
        }
    }
    // The block exists still, offline: synthetic events change nothing.
    CHECK(read_path(t, m, "devices/system/memory/memory72/state") == "offline\n");
}

TEST_CASE("uevent: arguments", "[uevent]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    const std::string path = "devices/system/memory/memory5/uevent";
    const std::string uuid = kUuid;

    SECTION("uuid alone, upper-case hex, several pairs in order") {
        auto e = emit(t, m, path, "change " + uuid);
        CHECK(e.synth == Props{{"SYNTH_UUID", uuid}});
        const std::string upper = "ABCDEF01-2345-6789-ABCD-EF0123456789";
        e = emit(t, m, path, "add " + upper + " A=1 Bb=xY2 c3=4\n");
        CHECK(e.synth == Props{{"SYNTH_UUID", upper},
                               {"SYNTH_ARG_A", "1"},
                               {"SYNTH_ARG_Bb", "xY2"},
                               {"SYNTH_ARG_c3", "4"}});
        const auto props = e.properties();
        REQUIRE(props.size() == 8);
        CHECK(props.front().first == "ACTION");
        CHECK(props[1].first == "DEVPATH");
        CHECK(props[2].first == "SUBSYSTEM");
        CHECK(props.back().first == "SEQNUM");
    }
    SECTION("malformed input fails EINVAL and emits nothing") {
        const uint64_t seq = m.last_seqnum();
        const std::vector<std::string> bad = {
            "bogus",
            "bogus\n",
            "Add",
            "ad",
            "addd",
            " add",
            "add\n\n",
            "\n",
            "add ",                                          // an argument must follow
            "add \n",
            "add 11111111-2222-3333-4444-55555555555g",      // not hex
            "add 11111111-2222-3333-4444-55555555555",       // short
            "add 11111111_2222-3333-4444-555555555555",      // dash misplaced
            "add 111111112222-3333-4444-5555-55555555555",
            "add " + uuid + "x",                             // no space after the uuid
            "add " + uuid + " ",                             // a key must follow
            "add " + uuid + " FOO",                          // no '='
            "add " + uuid + " FOO=",                         // no value
            "add " + uuid + " FOO= BAR=x",                   // empty value
            "add " + uuid + " =bar",                         // empty key
            "add " + uuid + " FO_O=bar",                     // key not alphanumeric
            "add " + uuid + " FOO-X=bar",
            "add " + uuid + " FOO=b-r",                      // value not alphanumeric
            "add " + uuid + " FOO=bar ",                     // trailing space
            "add " + uuid + "  FOO=bar",                     // two spaces
            "add " + uuid + " FOO=bar\n\n",
            "add " + uuid + " FOO=bar=baz",
        };
        for (const auto& data : bad) {
            INFO("'" << data << "'");
            hotplug::Outcome out;
            CHECK(write_path(t, m, path, data, &out) == -EINVAL);
            CHECK(out.events.empty());
        }
        CHECK(m.last_seqnum() == seq);
    }
    SECTION("a zero-length write emits nothing") {
        const uint64_t seq = m.last_seqnum();
        CHECK(write_path(t, m, path, "") == 0);
        CHECK(m.last_seqnum() == seq);
    }
}

TEST_CASE("uevent: other objects report their own devpath and subsystem", "[uevent]") {
    auto m = default_machine();
    fsmodel::Tree t(fsmodel::sysfs_root(), kBoot);
    struct Row {
        const char* path;
        const char* devpath;
        const char* subsystem;
    };
    const Row rows[] = {
        {"devices/system/node/node1/uevent", "/devices/system/node/node1", "node"},
        {"bus/memory/uevent", "/bus/memory", "bus"},
        {"bus/node/uevent", "/bus/node", "bus"},
        {"module/memory_hotplug/uevent", "/module/memory_hotplug", "module"},
    };
    for (const auto& r : rows) {
        INFO(r.path);
        const auto e = emit(t, m, r.path, "change\n");
        CHECK(e.properties() == Props{{"ACTION", "change"},
                                      {"DEVPATH", r.devpath},
                                      {"SUBSYSTEM", r.subsystem},
                                      {"SYNTH_UUID", "0"},
                                      {"SEQNUM", std::to_string(e.seqnum)}});
        CHECK(write_path(t, m, r.path, "bogus") == -EINVAL);
    }
    // Root devices of a subsystem have no bus: the kernel parses, then filters the event.
    for (const char* path : {"devices/system/memory/uevent", "devices/system/node/uevent"}) {
        INFO(path);
        const uint64_t seq = m.last_seqnum();
        hotplug::Outcome out;
        CHECK(write_path(t, m, path, "add\n", &out) == 4);
        CHECK(out.events.empty());
        CHECK(write_path(t, m, path, "add "s + kUuid + " FOO=bar") == 48);
        CHECK(write_path(t, m, path, "bogus\n") == -EINVAL);
        CHECK(write_path(t, m, path, "add "s + kUuid + " FOO=") == -EINVAL);
        CHECK(m.last_seqnum() == seq);
    }
}
