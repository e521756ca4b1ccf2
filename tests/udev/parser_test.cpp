// Parsing: syntax, continuation, comments and the errors udevd 252 reports as FILE:LINE.
#include <catch2/catch.hpp>

#include "fake_device.h"

using namespace udevtest;

namespace {

struct ErrorRow {
    const char* line;
    const char* message;  // "" = the line parses without error
};

const ErrorRow kErrorRows[] = {
    {R"(ACTION=="add", ENV{X}="1")", ""},
    {R"(ACTION=="add",ENV{X}="1")", ""},
    {R"(ACTION == "add" ,  ENV{X} = "1" ,)", ""},
    {R"(FOO=="bar", ENV{X}="1")", "Invalid key 'FOO'"},
    {R"(ACTION="add", ENV{X}="1")", "Invalid operator for ACTION."},
    {R"(ACTION{x}=="add", ENV{X}="1")", "Invalid attribute for ACTION."},
    {R"(ACTION{}=="add", ENV{X}="1")", "Invalid attribute for ACTION."},
    {R"(KERNEL+="x", ENV{X}="1")", "Invalid operator for KERNEL."},
    {R"(ENV="x")", "Invalid attribute for ENV."},
    {R"(ENV{}=="x", RUN+="/bin/true")", "Invalid attribute for ENV."},
    {R"(ENV{X}-="x")", "Invalid operator for ENV."},
    {R"(ENV{DEVPATH}="x")", "Invalid ENV attribute. 'DEVPATH' cannot be set."},
    {R"(ATTR{}="x")", "Invalid attribute for ATTR."},
    {R"(ATTR{state}-="x")", "Invalid operator for ATTR."},
    {R"(ATTRS{state}="x")", "Invalid operator for ATTRS."},
    {R"(CONST{foo}=="x", ENV{X}="1")", "Invalid attribute for CONST."},
    {R"(CONST{arch}="x")", "Invalid operator for CONST."},
    {R"(RUN=="x")", "Invalid operator for RUN."},
    {R"(RUN-="x")", "Invalid operator for RUN."},
    {R"(RUN{foo}+="x")", "Invalid attribute for RUN."},
    {R"(RUN{builtin}+="nosuch")", "Unknown builtin command 'nosuch', ignoring"},
    {R"(IMPORT{builtin}=="nosuch")", "Unknown builtin command: nosuch"},
    {R"(IMPORT{nope}=="x")", "Invalid attribute for IMPORT."},
    {R"(IMPORT="x")", "Invalid attribute for IMPORT."},
    {R"(GOTO=="x")", "Invalid operator for GOTO."},
    {R"(LABEL+="x")", "Invalid operator for LABEL."},
    {R"(OPTIONS=="x")", "Invalid operator for OPTIONS."},
    {R"(OPTIONS="log_level=loud")", "Failed to parse log level 'loud': Invalid argument"},
    {R"(OPTIONS="link_priority=x")", "Failed to parse link priority 'x': Invalid argument"},
    {R"(TEST{9}=="x", ENV{X}="1")", "Failed to parse mode '9': Invalid argument"},
    {R"(NAME="%k")", "Ignoring NAME=\"%k\", as it will take no effect."},
    {R"(ACTION=="add" ENV{X}="1")", ""},
    {R"(ACTION=="add)", "Invalid key/value pair, ignoring."},
    {R"(ACTION==add, ENV{X}="1")", "Invalid key/value pair, ignoring."},
    {R"(ACTION, ENV{X}="1")", "Invalid key/value pair, ignoring."},
    {R"(ACTION=="add"junk)", "Invalid key/value pair, ignoring."},
    {R"(ENV{X="1")", "Invalid key/value pair, ignoring."},
    {R"(ENV{X}=e"\q")", "Invalid key/value pair, ignoring."},
    {R"(ENV{X}="$foo")",
     "Invalid value \"$foo\" for ENV (char 1: invalid substitution type), ignoring."},
    {R"(ENV{X}="%q")",
     "Invalid value \"%q\" for ENV (char 1: invalid substitution type), ignoring."},
    {R"(ENV{X}="$env")",
     "Invalid value \"$env\" for ENV (char 5: attribute value missing), ignoring."},
    {R"(RUN+="")", "Invalid value \"\" for RUN (char 0: empty value), ignoring."},
};

}  // namespace

TEST_CASE("parse errors name file and line", "[udev][parse]") {
    for (const ErrorRow& row : kErrorRows) {
        INFO(row.line);
        RuleSet rules = parse(std::string("# header\n\n") + row.line + "\n", "/r/10-x.rules");
        if (std::string(row.message).empty()) {
            CHECK(rules.errors().empty());
            CHECK(rules.rule_lines() == 1);
            continue;
        }
        REQUIRE(rules.errors().size() == 1);
        CHECK(rules.errors()[0].file == "/r/10-x.rules");
        CHECK(rules.errors()[0].line == 3);
        CHECK(rules.errors()[0].message == row.message);
    }
}

TEST_CASE("a bad line is skipped and the rest applies", "[udev][parse]") {
    RuleSet rules = parse("ENV{A}=\"1\"\nBOGUS=\"x\", ENV{B}=\"1\"\nENV{C}=\"1\"\n");
    REQUIRE(rules.errors().size() == 1);
    CHECK(rules.errors()[0].line == 2);
    CHECK(rules.rule_lines() == 2);
    FakeDevice dev = memory_machine();
    RuleOutcome o = apply_rules(rules, memory_event(), dev);
    CHECK(prop(o, "A") == "1");
    CHECK(prop(o, "B") == "<unset>");
    CHECK(prop(o, "C") == "1");
}

TEST_CASE("unknown $name keeps the line and is copied literally", "[udev][parse]") {
    RuleSet rules = parse(R"(ENV{X}="a$foo")");
    CHECK(rules.errors().size() == 1);
    FakeDevice dev = memory_machine();
    CHECK(prop(apply_rules(rules, memory_event(), dev), "X") == "a$foo");
}

TEST_CASE("continuation lines, comments and line numbers", "[udev][parse]") {
    RuleSet rules = parse(
        "# comment\n"
        "ACTION==\"add\", \\\n"
        "   # a comment inside a continuation is dropped\n"
        "  SUBSYSTEM==\"memory\", \\\n"
        "  ENV{X}=\"1\"\n"
        "\n"
        "   \t\n"
        "  ENV{Y}=\"2\"\r\n"
        "ENV{Z}=\"3\" \\ \n"
        "FOO\n");
    CHECK(rules.rule_lines() == 2);
    REQUIRE(rules.errors().size() == 2);
    CHECK(rules.errors()[0].line == 9);  // "\\ " is no continuation: a bad pair on line 9
    CHECK(rules.errors()[1].line == 10);
    REQUIRE(rules.files().size() == 1);
    const auto& lines = rules.files()[0].lines;
    CHECK(lines[0].number == 5);
    CHECK(lines[0].text == R"(ACTION=="add", SUBSYSTEM=="memory", ENV{X}="1")");
    CHECK(lines[1].number == 8);
}

TEST_CASE("quoting: \\\" inside values and e\"\" escapes", "[udev][parse]") {
    FakeDevice dev = memory_machine();
    RuleOutcome o =
        apply_rules(parse(R"(ENV{A}="say \"hi\"", ENV{B}=e"tab\there\x21", ENV{C}="a\nb")"),
                    memory_event(), dev);
    CHECK(prop(o, "A") == "say \"hi\"");
    CHECK(prop(o, "B") == "tab\there!");
    CHECK(prop(o, "C") == "a\\nb");
}

TEST_CASE("GOTO without a label is an error; the rest of the line stays", "[udev][parse]") {
    RuleSet rules = parse(
        "ACTION==\"add\", GOTO=\"nowhere\"\n"
        "ACTION==\"add\", GOTO=\"nowhere\", ENV{X}=\"1\"\n"
        "LABEL=\"before\"\n"
        "GOTO=\"before\"\n");
    REQUIRE(rules.errors().size() == 3);
    CHECK(rules.errors()[0].line == 1);
    CHECK(rules.errors()[0].message == "GOTO=\"nowhere\" has no matching label, ignoring");
    CHECK(rules.errors()[1].line == 2);
    CHECK(rules.errors()[2].line == 4);  // labels are only searched forward
    CHECK(rules.rule_lines() == 2);      // line 2 and the LABEL line
    FakeDevice dev = memory_machine();
    CHECK(prop(apply_rules(rules, memory_event(), dev), "X") == "1");
}

TEST_CASE("warnings do not drop lines", "[udev][parse]") {
    RuleSet rules = parse(R"(ACTION=="add"
ENV{X}:="1"
ATTR{state}+="online"
OPTIONS+="nosuchoption", ENV{Y}="1"
GOTO="a", GOTO="b"
LABEL="a"
)");
    CHECK(rules.errors().empty());
    REQUIRE(rules.warnings().size() == 5);
    CHECK(rules.warnings()[0].message == "The line takes no effect, ignoring.");
    CHECK(rules.warnings()[1].message ==
          "ENV key takes '==', '!=', '=', or '+=' operator, assuming '='.");
    CHECK(rules.warnings()[2].message ==
          "ATTR key takes '==', '!=', or '=' operator, assuming '='.");
    CHECK(rules.warnings()[3].message == "Invalid value for OPTIONS key, ignoring: 'nosuchoption'");
    CHECK(rules.warnings()[4].message == "Contains multiple GOTO keys, ignoring GOTO=\"b\".");
    CHECK(rules.rule_lines() == 5);
}
