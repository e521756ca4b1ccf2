// Assignments, substitutions, GOTO/LABEL, RUN and realistic onlining rules.
#include <catch2/catch.hpp>

#include "fake_device.h"

using namespace udevtest;

namespace {

// The RHEL 8 memory onlining block, written from the rule syntax.
const char* kRhelRules = R"(# Memory hotadd request
SUBSYSTEM!="memory", GOTO="memory_hotplug_end"
ACTION!="add", GOTO="memory_hotplug_end"
CONST{arch}=="s390*|ppc64*", GOTO="memory_hotplug_end"

ENV{.state}="online"
CONST{virt}=="none", ENV{.state}="online_movable"
ATTR{state}=="offline", ATTR{state}="$env{.state}"

LABEL="memory_hotplug_end"
)";

std::vector<std::string> state_writes(FakeDevice& dev) {
    return dev.writes;
}

}  // namespace

TEST_CASE("RHEL-style onlining block by architecture and virtualization", "[udev][apply]") {
    struct {
        const char* arch;
        const char* virt;
        std::vector<std::string> writes;
    } rows[] = {
        {"x86-64", "kvm", {"/devices/system/memory/memory6/state=online"}},
        {"x86-64", "none", {"/devices/system/memory/memory6/state=online_movable"}},
        {"arm64", "microsoft", {"/devices/system/memory/memory6/state=online"}},
        {"s390x", "zvm", {}},
        {"ppc64le", "powervm", {}},
    };
    RuleSet rules = parse(kRhelRules, "40-redhat.rules");
    REQUIRE(rules.errors().empty());
    for (const auto& row : rows) {
        INFO(row.arch << " " << row.virt);
        FakeDevice dev = memory_machine();
        dev.consts = {{"arch", row.arch}, {"virt", row.virt}};
        RuleOutcome o = apply_rules(rules, memory_event(), dev);
        CHECK(state_writes(dev) == row.writes);
        CHECK(o.log.empty());
        CHECK(o.attr_writes.size() == row.writes.size());
    }
    FakeDevice dev = memory_machine();
    RuleOutcome o = apply_rules(rules, memory_event("remove"), dev);
    CHECK(dev.writes.empty());
    // Only the GOTO line of ACTION!="add" matched, then evaluation jumped to the label.
    REQUIRE(o.matched.size() == 1);
    CHECK(o.matched[0].line == 3);
    CHECK(o.matched[0].text == R"(ACTION!="add", GOTO="memory_hotplug_end")");
    CHECK(prop(o, ".state") == "<unset>");
}

TEST_CASE("RHEL-style block leaves an online block alone", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    dev.devs["/devices/system/memory/memory6"].attrs["state"] = "online\n";
    RuleOutcome o = apply_rules(parse(kRhelRules), memory_event(), dev);
    CHECK(dev.writes.empty());
    CHECK(prop(o, ".state") == "online");
}

TEST_CASE("Ubuntu-style onlining rule", "[udev][apply]") {
    RuleSet rules = parse(
        R"(SUBSYSTEM=="memory", ACTION=="add", DEVPATH=="/devices/system/memory/memory[0-9]*", TEST=="state", ATTR{state}!="online", ATTR{state}="online")",
        "40-vm-hotadd.rules");
    REQUIRE(rules.errors().empty());
    FakeDevice dev = memory_machine();
    RuleOutcome o = apply_rules(rules, memory_event(), dev);
    CHECK(dev.writes == std::vector<std::string>{"/devices/system/memory/memory6/state=online"});
    REQUIRE(o.attr_writes.size() == 1);
    CHECK(o.attr_writes[0].file == "40-vm-hotadd.rules");
    CHECK(o.attr_writes[0].line == 1);
    CHECK(o.attr_writes[0].attr == "state");
    CHECK(o.attr_writes[0].value == "online");
    CHECK(o.attr_writes[0].error == 0);
    // Already online, or not an add: nothing written.
    dev.writes.clear();
    apply_rules(rules, memory_event(), dev);
    CHECK(dev.writes.empty());
    FakeDevice dev2 = memory_machine();
    apply_rules(rules, memory_event("online"), dev2);
    CHECK(dev2.writes.empty());
}

TEST_CASE("a failed ATTR write is logged and processing goes on", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    dev.devs["/devices/system/memory/memory6"].write_errors["state"] = EINVAL;
    RuleSet rules = parse(
        "SUBSYSTEM==\"memory\", ACTION==\"add\", ATTR{state}=\"online\"\n"
        "SUBSYSTEM==\"memory\", ENV{AFTER}=\"yes\"\n",
        "/etc/udev/rules.d/99-online.rules");
    RuleOutcome o = apply_rules(rules, memory_event(), dev);
    REQUIRE(o.attr_writes.size() == 1);
    CHECK(o.attr_writes[0].error == EINVAL);
    REQUIRE(o.log.size() == 1);
    CHECK(o.log[0] ==
          "/etc/udev/rules.d/99-online.rules:1 Failed to write "
          "ATTR{/sys/devices/system/memory/memory6/state}, ignoring: Invalid argument");
    CHECK(prop(o, "AFTER") == "yes");
    REQUIRE(o.matched.size() == 2);
}

TEST_CASE("a refused write of the value already there is no failure", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    auto& mem6 = dev.devs["/devices/system/memory/memory6"];
    mem6.attrs["state"] = "online\n";
    mem6.write_errors["state"] = EINVAL;
    RuleOutcome o = apply_rules(parse(R"(ATTR{state}="online")"), memory_event(), dev);
    REQUIRE(o.attr_writes.size() == 1);
    CHECK(o.attr_writes[0].error == 0);
    CHECK(o.log.empty());
}

TEST_CASE("substitutions", "[udev][apply]") {
    struct {
        const char* value;
        const char* expect;
    } rows[] = {
        {"%k", "memory6"},
        {"$kernel", "memory6"},
        {"%n", "6"},
        {"$number", "6"},
        {"%p", "/devices/system/memory/memory6"},
        {"$devpath", "/devices/system/memory/memory6"},
        {"%E{SUBSYSTEM}", "memory"},
        {"$env{SEQNUM}", "1234"},
        {"$env{MISSING}", ""},
        {"%s{state}", "offline"},
        {"$attr{valid_zones}", "Normal Movable"},
        {"$attr{nope}", ""},
        {"$sysfs{phys_index}", "00000006"},
        {"%%", "%"},
        {"$$", "$"},
        {"100%% $$HOME", "100% $HOME"},
        {"$devnode|%N", "|"},
        {"$name", "memory6"},
        {"$links", ""},
        {"$sys$devpath/state", "/sys/devices/system/memory/memory6/state"},
        {"$root", "/dev"},
        {"%M:%m", "0:0"},
        {"$kernelX", "memory6X"},
        {"%b", ""},
        {"[$kernel]", "[memory6]"},
    };
    for (const auto& row : rows) {
        INFO(row.value);
        FakeDevice dev = memory_machine();
        RuleSet rules = parse(std::string("ENV{V}=\"") + row.value + "\"");
        REQUIRE(rules.errors().empty());
        CHECK(prop(apply_rules(rules, memory_event(), dev), "V") == row.expect);
    }
}

TEST_CASE("%b and $attr fall back to the device the parent keys matched", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    RuleSet rules =
        parse(R"(ATTRS{auto_online_blocks}=="?*", ENV{P}="%b:$attr{block_size_bytes}")");
    CHECK(prop(apply_rules(rules, memory_event(), dev), "P") == "memory:8000000");
}

TEST_CASE("ENV assignment order, +=, deletion and string_escape", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    RuleSet rules = parse(R"(ENV{B}="1"
ENV{A}="2"
ENV{SYNTH_UUID}=""
ENV{B}+="x"
ENV{A}+=""
ENV{C}+="new"
ENV{.tmp}="t", ENV{.tmp}=""
ENV{D}="a/b"
OPTIONS="string_escape=replace", ENV{E}="a/b c"
ENV{SYNTH_UUID}="again"
)");
    REQUIRE(rules.errors().empty());
    Event event = memory_event();
    event.properties.insert(event.properties.begin() + 3, {"SYNTH_UUID", "0"});
    RuleOutcome o = apply_rules(rules, event, dev);
    Properties expect{{"ACTION", "add"},
                      {"DEVPATH", "/devices/system/memory/memory6"},
                      {"SUBSYSTEM", "memory"},
                      {"SEQNUM", "1234"},
                      {"B", "1 x"},
                      {"A", "2"},
                      {"C", "new"},
                      {"D", "a/b"},
                      {"E", "a_b_c"},
                      {"SYNTH_UUID", "again"}};
    CHECK(o.properties == expect);
}

TEST_CASE("GOTO jumps forward to its label; later rules still apply", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    RuleSet rules = parse(R"(ENV{A}="1"
SUBSYSTEM=="memory", GOTO="skip"
ENV{B}="1"
LABEL="skip"
ENV{C}="1"
LABEL="second", ENV{D}="1"
ACTION=="add", GOTO="second"
ENV{E}="1"
LABEL="second", ENV{F}="1"
)");
    REQUIRE(rules.errors().empty());
    RuleOutcome o = apply_rules(rules, memory_event(), dev);
    CHECK(prop(o, "A") == "1");
    CHECK(prop(o, "B") == "<unset>");
    CHECK(prop(o, "C") == "1");
    CHECK(prop(o, "D") == "1");
    CHECK(prop(o, "E") == "<unset>");  // jumps to the next "second" label, not the earlier one
    CHECK(prop(o, "F") == "1");
    std::vector<unsigned> lines;
    for (const auto& m : o.matched) lines.push_back(m.line);
    CHECK(lines == std::vector<unsigned>{1, 2, 5, 6, 7, 9});
}

TEST_CASE("RUN ordering, =, := and RUN{builtin}", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    RuleSet rules = parse(R"(RUN+="/bin/first %k"
RUN+="/bin/second"
RUN+="/bin/second"
RUN{program}+="third"
RUN{builtin}+="kmod load memory"
RUN="/bin/reset $env{SEQNUM}"
RUN+="/bin/after-reset"
RUN:="/bin/final"
RUN+="/bin/ignored"
RUN="/bin/ignored-too"
)");
    REQUIRE(rules.errors().empty());
    RuleOutcome o = apply_rules(rules, memory_event(), dev);
    CHECK(o.run == std::vector<std::string>{"/bin/final"});
    CHECK(o.run_builtin.empty());

    RuleOutcome o2 = apply_rules(parse(R"(RUN+="/bin/first %k"
RUN+="/bin/second"
RUN+="/bin/second"
RUN{program}+="third"
RUN{builtin}+="kmod load memory"
)"),
                                 memory_event(), dev);
    CHECK(o2.run ==
          std::vector<std::string>{"/bin/first memory6", "/bin/second", "/bin/second", "third"});
    CHECK(o2.run_builtin == std::vector<std::string>{"kmod load memory"});
    CHECK(dev.ran.empty());  // RUN is reported, never executed by the library
}

TEST_CASE("RUN substitution of a shell command", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    RuleOutcome o =
        apply_rules(parse(R"(RUN+="/bin/sh -c 'echo $devpath > /tmp/x'")"), memory_event(), dev);
    CHECK(o.run ==
          std::vector<std::string>{"/bin/sh -c 'echo /devices/system/memory/memory6 > /tmp/x'"});
}

TEST_CASE("TAG assignments and matches", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    RuleOutcome o = apply_rules(parse(R"(TAG+="a", TAG+="b", TAG+="a"
TAG=="b", ENV{HAS_B}="1"
TAG-="a"
TAG+="bad tag"
TAG+="c"
)"),
                                memory_event(), dev);
    CHECK(o.tags == std::vector<std::string>{"b", "c"});
    CHECK(prop(o, "HAS_B") == "1");
    REQUIRE(o.log.size() == 1);
    CHECK(o.log[0] == "test.rules:4 Invalid tag name 'bad tag', ignoring");
}

TEST_CASE("lines that only manage device nodes are skipped for memory devices", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    RuleSet rules = parse(R"(SUBSYSTEM=="memory", SYMLINK+="mem%n"
SUBSYSTEM=="memory", MODE="0600", GROUP="kmem"
KERNEL=="memory*", OWNER="root"
)");
    RuleOutcome o = apply_rules(rules, memory_event(), dev);
    CHECK(o.matched.empty());
    CHECK(rules.warnings().size() == 4);
}

TEST_CASE("attribute values are read once per event", "[udev][apply]") {
    FakeDevice dev = memory_machine();
    RuleOutcome o = apply_rules(parse(R"(ATTR{state}=="offline", ATTR{state}="online"
ATTR{state}=="offline", ENV{STILL}="cached"
)"),
                                memory_event(), dev);
    CHECK(prop(o, "STILL") == "cached");
}
