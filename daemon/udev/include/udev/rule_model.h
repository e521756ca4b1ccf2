// The parsed form of udev rules: files hold lines, lines hold tokens (as systemd-udevd 252 does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hotplugfs::udev {

// The order matters: udev sorts the tokens of a line by this type before it evaluates them, so
// every match key runs before every assignment, and PROGRAM runs after the cheap string matches.
enum class TokenType : std::uint8_t {
    MAction,
    MDevpath,
    MKernel,
    MDevlink,
    MName,
    MEnv,
    MConst,
    MTag,
    MSubsystem,
    MDriver,
    MAttr,
    MSysctl,
    MParentsKernel,
    MParentsSubsystem,
    MParentsDriver,
    MParentsAttr,
    MParentsTag,
    MTest,
    MProgram,
    MImportFile,
    MImportProgram,
    MImportBuiltin,
    MImportDb,
    MImportCmdline,
    MImportParent,
    MResult,
    AOptionsStringEscapeNone,  // first assignment type
    AOptionsStringEscapeReplace,
    AOptionsNoEffect,  // db_persist, watch, nowatch, link_priority, log_level: nothing to do here
    AOwner,
    AGroup,
    AMode,
    ATag,
    AOptionsStaticNode,
    ASeclabel,
    AEnv,
    AName,
    ADevlink,
    AAttr,
    ASysctl,
    ARunBuiltin,
    ARunProgram,
};

inline bool is_match_type(TokenType t) {
    return t < TokenType::AOptionsStringEscapeNone;
}
inline bool is_parent_type(TokenType t) {
    return t >= TokenType::MParentsKernel && t <= TokenType::MParentsTag;
}

enum class Op : std::uint8_t { Match, NoMatch, Add, Remove, Assign, AssignFinal };

// How a match value compares, decided once at parse time like udev does.
enum class MatchKind : std::uint8_t {
    Empty,           // "" (or "?*" with the operator inverted)
    Plain,           // alternatives compared with ==
    PlainWithEmpty,  // as Plain, and "" matches too ("|foo")
    Glob,            // alternatives compared with fnmatch(3)
    GlobWithEmpty,
    Subsystem,  // SUBSYSTEM=="subsystem|bus|class" spellings of the same thing
};

struct Token {
    TokenType type = TokenType::MAction;
    Op op = Op::Match;
    MatchKind match = MatchKind::Plain;
    bool strip_trailing_ws = false;         // ATTR/ATTRS: the pattern does not end in whitespace
    std::string value;                      // the value as written (after unquoting)
    std::vector<std::string> alternatives;  // match values split at '|'
    std::string attr;                       // the {attribute}, when the key takes one
    std::optional<unsigned> mode;           // TEST{mode}
};

enum LineFlag : unsigned {
    kHasName = 1u << 0,
    kHasDevlink = 1u << 1,
    kHasStaticNode = 1u << 2,
    kHasGoto = 1u << 3,
    kHasLabel = 1u << 4,
    kUpdatesSomething = 1u << 5,
};

struct RuleLine {
    unsigned number = 0;
    std::string text;  // the logical line, continuations joined
    unsigned flags = 0;
    std::string label;
    std::string goto_label;
    std::optional<std::size_t> goto_target;  // index of the LABEL line in the same file
    std::vector<Token> tokens;               // sorted by type
};

struct RuleFile {
    std::string path;
    std::vector<RuleLine> lines;
};

}  // namespace hotplugfs::udev
