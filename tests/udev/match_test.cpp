// Match keys, operators and patterns, table-driven: each row is the match part of a rule line
// and whether it matches an "add" and a "remove" of memory6 on the fake machine.
#include <catch2/catch.hpp>

#include "fake_device.h"

using namespace udevtest;

namespace {

struct Row {
    const char* match;
    bool on_add;
    bool on_remove;
};

bool line_matches(const std::string& match, const std::string& action) {
    FakeDevice dev = memory_machine();
    RuleSet rules = parse(match + ", ENV{HIT}=\"1\"\n");
    INFO(match);
    REQUIRE(rules.errors().empty());
    RuleOutcome o = apply_rules(rules, memory_event(action), dev);
    return prop(o, "HIT") == "1";
}

const Row kRows[] = {
    // operators on plain strings
    {R"(ACTION=="add")", true, false},
    {R"(ACTION!="add")", false, true},
    {R"(ACTION=="add|remove")", true, true},
    {R"(ACTION=="change|online")", false, false},
    {R"(SUBSYSTEM=="memory")", true, true},
    {R"(SUBSYSTEM!="memory")", false, false},
    {R"(SUBSYSTEM=="")", false, false},
    {R"(SUBSYSTEM!="")", true, true},
    {R"(SUBSYSTEM=="?*")", true, true},
    {R"(DRIVER=="")", true, true},
    {R"(DRIVER=="|foo")", true, true},
    {R"(DRIVER=="foo|")", true, true},
    {R"(DRIVER=="foo")", false, false},
    {R"(DEVPATH=="/devices/system/memory/memory6")", true, true},
    {R"(DEVPATH=="/devices/system/memory/memory[0-9]*")", true, true},
    {R"(DEVPATH=="/devices/system/memory/memory[!0-9]*")", false, false},
    {R"(DEVPATH=="/devices/*/memory?")", true, true},
    {R"(DEVPATH=="/devices/*/memory??")", false, false},
    {R"(KERNEL=="memory6")", true, true},
    {R"(KERNEL=="memory*")", true, true},
    {R"(KERNEL=="node*|memory*")", true, true},
    {R"(KERNEL=="mem")", false, false},
    {R"(KERNEL!="memory[0-5]")", true, true},
    // environment, including dot-keys and unset keys
    {R"(ENV{SEQNUM}=="1234")", true, true},
    {R"(ENV{SEQNUM}=="12*")", true, true},
    {R"(ENV{NOPE}=="")", true, true},
    {R"(ENV{NOPE}!="")", false, false},
    {R"(ENV{NOPE}=="?*")", false, false},
    {R"(ENV{.state}=="")", true, true},
    // constants from the device access
    {R"(CONST{arch}=="x86-64")", true, true},
    {R"(CONST{arch}=="s390*|ppc64*")", false, false},
    {R"(CONST{virt}=="kvm")", true, true},
    {R"(CONST{virt}!="none")", true, true},
    // attributes of the device: trailing newline and whitespace removed
    {R"(ATTR{state}=="offline")", true, true},
    {R"(ATTR{state}!="online")", true, true},
    {R"(ATTR{state}=="off*")", true, true},
    {R"(ATTR{valid_zones}=="*Movable")", true, true},
    {R"(ATTR{valid_zones}=="Normal Movable")", true, true},
    {R"(ATTR{state}=="offline ")", false, false},  // the pattern keeps its whitespace
    {R"(ATTR{$kernel/../state}=="x")", false, false},
    // an unreadable attribute matches neither operator (udevd returns false before comparing)
    {R"(ATTR{nope}=="x")", false, false},
    {R"(ATTR{nope}!="x")", false, false},
    {R"(ATTR{nope}=="")", false, false},
    // parents: the device itself first, then upwards
    {R"(ATTRS{auto_online_blocks}=="offline")", true, true},
    {R"(ATTRS{auto_online_blocks}=="online")", false, false},
    {R"(ATTRS{state}=="offline")", true, true},
    {R"(KERNELS=="memory")", true, true},
    {R"(KERNELS=="memory6")", true, true},
    {R"(KERNELS=="node0")", false, false},
    {R"(SUBSYSTEMS=="memory")", true, true},
    {R"(DRIVERS=="")", true, true},
    // all parent keys must match on the same device
    {R"(KERNELS=="memory", ATTRS{auto_online_blocks}=="offline")", true, true},
    {R"(KERNELS=="memory6", ATTRS{auto_online_blocks}=="offline")", false, false},
    {R"(SUBSYSTEMS=="memory", ATTRS{state}=="offline")", true, true},
    {R"(SUBSYSTEMS=="memory", ATTRS{block_size_bytes}=="?*")", false, false},
    // TEST: relative to the device's sysfs directory, or absolute; with a mode mask
    {R"(TEST=="state")", true, true},
    {R"(TEST!="state")", false, false},
    {R"(TEST=="nope")", false, false},
    {R"(TEST=="/sys/devices/system/memory/auto_online_blocks")", true, true},
    {R"(TEST=="/sys$devpath/online")", true, true},
    {R"(TEST{0200}=="state")", true, true},
    {R"(TEST{0001}=="state")", false, false},
    // TAG keys see tags assigned earlier for this event (none here)
    {R"(TAG=="systemd")", false, false},
    {R"(TAG!="systemd")", true, true},
    {R"(TAGS=="x")", false, false},
    // everything at once
    {R"(SUBSYSTEM=="memory", ACTION=="add", KERNEL=="memory*", ATTR{online}=="0")", true, false},
};

}  // namespace

TEST_CASE("match keys, operators and patterns", "[udev][match]") {
    for (const Row& row : kRows) {
        INFO(row.match);
        CHECK(line_matches(row.match, "add") == row.on_add);
        CHECK(line_matches(row.match, "remove") == row.on_remove);
    }
}

TEST_CASE("the parent walk visits only ancestors", "[udev][match]") {
    FakeDevice dev = memory_machine();
    RuleSet rules = parse(R"(ATTRS{cpulist}=="0-1", ENV{HIT}="1")");
    CHECK(prop(apply_rules(rules, memory_event(), dev), "HIT") == "<unset>");
}

TEST_CASE("PROGRAM and RESULT", "[udev][match]") {
    FakeDevice dev = memory_machine();
    dev.programs["/bin/echo zone Movable"] = {0, "zone Movable\n"};
    dev.programs["/usr/lib/udev/helper memory6"] = {0, "ok\n"};
    dev.programs["/bin/false"] = {1, ""};
    struct {
        const char* rule;
        const char* expect;
    } rows[] = {
        {R"(PROGRAM=="/bin/echo zone Movable", RESULT=="zone *", ENV{R}="%c{2}")", "Movable"},
        {R"(PROGRAM=="/bin/echo zone Movable", ENV{R}="%c")", "zone Movable"},
        {R"(PROGRAM=="/bin/echo zone Movable", ENV{R}="$result{1+}")", "zone Movable"},
        {R"(PROGRAM=="/bin/echo zone Movable", ENV{R}="[%c{3}]")", "[]"},
        {R"(PROGRAM=="/bin/echo zone Movable", RESULT=="other", ENV{R}="x")", "<unset>"},
        {R"(PROGRAM="helper %k", ENV{R}="%c")", "ok"},
        {R"(PROGRAM=="/bin/false", ENV{R}="x")", "<unset>"},
        {R"(PROGRAM!="/bin/false", ENV{R}="x")", "x"},
        {R"(PROGRAM=="/not/there", ENV{R}="x")", "<unset>"},
    };
    for (const auto& row : rows) {
        INFO(row.rule);
        RuleSet rules = parse(row.rule);
        REQUIRE(rules.errors().empty());
        CHECK(prop(apply_rules(rules, memory_event(), dev), "R") == row.expect);
    }
}

TEST_CASE("IMPORT{program} adds KEY=VALUE lines to the environment", "[udev][match]") {
    FakeDevice dev = memory_machine();
    dev.programs["/usr/lib/udev/probe memory6"] = {
        0, "# comment\nZONE=Movable\n QUOTED = 'a b' \nBAD\nEMPTY=\nNODE=\"0\"\n"};
    RuleSet rules = parse(R"(IMPORT{program}="probe $kernel", ENV{OK}="1")");
    RuleOutcome o = apply_rules(rules, memory_event(), dev);
    CHECK(prop(o, "ZONE") == "Movable");
    CHECK(prop(o, "QUOTED") == "a b");
    CHECK(prop(o, "NODE") == "0");
    CHECK(prop(o, "EMPTY") == "<unset>");
    CHECK(prop(o, "OK") == "1");
    REQUIRE(dev.ran.size() == 1);
    CHECK(dev.ran[0] == std::vector<std::string>{"/usr/lib/udev/probe", "memory6"});
}
