// The keys of the rule language: which operators and attributes each takes, and the messages
// udevd 252 logs when a line gets them wrong.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "udev/format.h"
#include "udev/parser.h"

namespace hotplugfs::udev {
namespace {

bool is_match_op(Op op) {
    return op == Op::Match || op == Op::NoMatch;
}

bool has_glob(std::string_view s) {
    return s.find_first_of("*?[") != std::string_view::npos;
}

std::optional<unsigned> parse_mode(std::string_view s) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 8);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 07777)
        return std::nullopt;
    return v;
}

bool valid_log_level(std::string_view s) {
    static constexpr std::array<std::string_view, 8> names{"emerg",   "alert",  "crit", "err",
                                                           "warning", "notice", "info", "debug"};
    if (std::find(names.begin(), names.end(), s) != names.end()) return true;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size() && v <= 7;
}

bool valid_int(std::string_view s) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

// Keys that only compare a device string and take neither attribute nor assignment.
struct SimpleMatch {
    std::string_view key;
    TokenType type;
};
constexpr std::array<SimpleMatch, 10> kSimpleMatches{{
    {"ACTION", TokenType::MAction},
    {"DEVPATH", TokenType::MDevpath},
    {"KERNEL", TokenType::MKernel},
    {"SUBSYSTEM", TokenType::MSubsystem},
    {"DRIVER", TokenType::MDriver},
    {"KERNELS", TokenType::MParentsKernel},
    {"SUBSYSTEMS", TokenType::MParentsSubsystem},
    {"DRIVERS", TokenType::MParentsDriver},
    {"TAGS", TokenType::MParentsTag},
    {"RESULT", TokenType::MResult},
}};

// Splits a match value at '|' the way udev builds its nulstr: empty alternatives are dropped but
// remembered, so "|foo" also matches the empty string.
void split_alternatives(Token& t) {
    bool bar = true;
    bool empty = false;
    std::string current;
    for (char c : t.value) {
        if (c != '|') {
            current += c;
            bar = false;
        } else {
            if (bar)
                empty = true;
            else
                t.alternatives.push_back(std::move(current));
            current.clear();
            bar = true;
        }
    }
    if (!bar) t.alternatives.push_back(std::move(current));
    if (bar) empty = true;
    if (empty && t.match == MatchKind::Glob) t.match = MatchKind::GlobWithEmpty;
    if (empty && t.match == MatchKind::Plain) t.match = MatchKind::PlainWithEmpty;
}

}  // namespace

bool LineParser::error(const std::string& message) {
    rules_.errors_.push_back({file_.path, line_.number, message});
    return false;
}

void LineParser::warning(const std::string& message) {
    rules_.warnings_.push_back({file_.path, line_.number, message});
}

void LineParser::check_value(const std::string& key, const std::string& value, bool nonempty) {
    // udevd logs these and keeps the token, so the line still applies.
    if (nonempty && value.empty()) {
        error("Invalid value \"\" for " + key + " (char 0: empty value), ignoring.");
    } else if (auto problem = check_format(value)) {
        error("Invalid value \"" + value + "\" for " + key + " (char " +
              std::to_string(problem->offset) + ": " + problem->hint + "), ignoring.");
    }
}

bool LineParser::check_attr(const std::string& key, const std::optional<std::string>& attr) {
    if (!attr || attr->empty()) return invalid_attr(key);
    if (auto problem = check_format(*attr))
        error("Invalid attribute \"" + *attr + "\" for " + key + " (char " +
              std::to_string(problem->offset) + ": " + problem->hint + "), ignoring.");
    return true;
}

void LineParser::assume_assign(RawPair& p, std::string_view ops) {
    warning(p.key + " key takes " + std::string(ops) + " operator, assuming '='.");
    p.op = Op::Assign;
}

void LineParser::add_token(TokenType type, Op op, std::string value, std::string attr,
                           std::optional<unsigned> mode) {
    Token t;
    t.type = type;
    t.op = op;
    t.value = std::move(value);
    t.attr = std::move(attr);
    t.mode = mode;
    if (is_match_type(type)) {
        if (type == TokenType::MSubsystem &&
            (t.value == "subsystem" || t.value == "bus" || t.value == "class")) {
            t.match = MatchKind::Subsystem;
        } else if (t.value.empty()) {
            t.match = MatchKind::Empty;
        } else if (t.value == "?*") {  // KEY=="?*" is KEY!=""
            t.match = MatchKind::Empty;
            t.op = t.op == Op::Match ? Op::NoMatch : Op::Match;
        } else {
            t.match = has_glob(t.value) ? MatchKind::Glob : MatchKind::Plain;
        }
        if (type < TokenType::MTest || type == TokenType::MResult) split_alternatives(t);
    }
    if (type == TokenType::MAttr || type == TokenType::MParentsAttr) {
        // udev looks at the first alternative only: "foo |bar" keeps trailing whitespace.
        const std::string first = t.alternatives.empty() ? std::string() : t.alternatives.front();
        t.strip_trailing_ws =
            !first.empty() && !std::isspace(static_cast<unsigned char>(first.back()));
    }
    if (type == TokenType::AName) {
        line_.flags |= kHasName;
    } else if (type == TokenType::ADevlink || type == TokenType::AOwner ||
               type == TokenType::AGroup || type == TokenType::AMode) {
        line_.flags |= kHasDevlink;
    } else if (type == TokenType::AOptionsStaticNode) {
        line_.flags |= kHasStaticNode;
    } else if (!is_match_type(type) || type == TokenType::MProgram ||
               (type >= TokenType::MImportFile && type <= TokenType::MImportParent)) {
        line_.flags |= kUpdatesSomething;
    }
    line_.tokens.push_back(std::move(t));
}

bool LineParser::parse_token(RawPair& p) {
    const std::string& k = p.key;
    for (const auto& s : kSimpleMatches)
        if (k == s.key) return parse_simple_match(p);
    if (k == "CONST") {
        if (!p.attr || (*p.attr != "arch" && *p.attr != "virt" && *p.attr != "cgroup"))
            return invalid_attr(k);
        if (!is_match_op(p.op)) return invalid_op(k);
        add_token(TokenType::MConst, p.op, p.value, *p.attr);
        return true;
    }
    if (k == "ENV") return parse_env(p);
    if (k == "ATTR" || k == "SYSCTL" || k == "ATTRS") return parse_attr_like(p);
    if (k == "NAME" || k == "SYMLINK") return parse_name_or_symlink(p);
    if (k == "TAG") return parse_tag(p);
    if (k == "TEST") return parse_test(p);
    if (k == "PROGRAM" || k == "IMPORT") return parse_program_or_import(p);
    if (k == "OPTIONS") return parse_options(p);
    if (k == "OWNER" || k == "GROUP" || k == "MODE") return parse_owner_group_mode(p);
    if (k == "SECLABEL") return parse_seclabel(p);
    if (k == "RUN") return parse_run(p);
    if (k == "GOTO" || k == "LABEL") return parse_goto_label(p);
    return error("Invalid key '" + k + "'");
}

bool LineParser::parse_simple_match(const RawPair& p) {
    if (p.attr) return invalid_attr(p.key);
    if (!is_match_op(p.op)) return invalid_op(p.key);
    auto it = std::find_if(kSimpleMatches.begin(), kSimpleMatches.end(),
                           [&](const SimpleMatch& s) { return s.key == p.key; });
    if (it->type == TokenType::MSubsystem && (p.value == "bus" || p.value == "class"))
        warning("\"" + p.value + "\" must be specified as \"subsystem\".");
    add_token(it->type, p.op, p.value);
    return true;
}

bool LineParser::parse_env(RawPair& p) {
    if (!p.attr || p.attr->empty()) return invalid_attr(p.key);
    if (p.op == Op::Remove) return invalid_op(p.key);
    if (p.op == Op::AssignFinal) assume_assign(p, "'==', '!=', '=', or '+='");
    if (is_match_op(p.op)) {
        add_token(TokenType::MEnv, p.op, p.value, *p.attr);
        return true;
    }
    static constexpr std::array<std::string_view, 12> fixed{
        "ACTION",  "DEVLINKS", "DEVNAME", "DEVPATH", "DEVTYPE",   "DRIVER",
        "IFINDEX", "MAJOR",    "MINOR",   "SEQNUM",  "SUBSYSTEM", "TAGS"};
    if (std::find(fixed.begin(), fixed.end(), *p.attr) != fixed.end())
        return error("Invalid ENV attribute. '" + *p.attr + "' cannot be set.");
    check_value(p.key, p.value, false);
    add_token(TokenType::AEnv, p.op, p.value, *p.attr);
    return true;
}

bool LineParser::parse_attr_like(RawPair& p) {
    if (!check_attr(p.key, p.attr)) return false;
    if (p.key == "ATTRS") {
        if (!is_match_op(p.op)) return invalid_op(p.key);
        if (p.attr->starts_with("device/"))
            warning("'device' link may not be available in future kernels.");
        if (p.attr->find("../") != std::string::npos)
            warning("Direct reference to parent sysfs directory, may break in future kernels.");
        add_token(TokenType::MParentsAttr, p.op, p.value, *p.attr);
        return true;
    }
    if (p.op == Op::Remove) return invalid_op(p.key);
    if (p.op == Op::Add || p.op == Op::AssignFinal) assume_assign(p, "'==', '!=', or '='");
    bool attr = p.key == "ATTR";
    if (is_match_op(p.op)) {
        add_token(attr ? TokenType::MAttr : TokenType::MSysctl, p.op, p.value, *p.attr);
    } else {
        check_value(p.key, p.value, false);
        add_token(attr ? TokenType::AAttr : TokenType::ASysctl, p.op, p.value, *p.attr);
    }
    return true;
}

bool LineParser::parse_name_or_symlink(RawPair& p) {
    if (p.attr) return invalid_attr(p.key);
    if (p.op == Op::Remove) return invalid_op(p.key);
    bool name = p.key == "NAME";
    if (name && p.op == Op::Add) assume_assign(p, "'==', '!=', '=', or ':='");
    if (is_match_op(p.op)) {
        add_token(name ? TokenType::MName : TokenType::MDevlink, p.op, p.value);
        return true;
    }
    if (name && p.value == "%k") return error("Ignoring NAME=\"%k\", as it will take no effect.");
    if (name && p.value.empty())
        return error("Ignoring NAME=\"\", as udev will not delete any network interfaces.");
    check_value(p.key, p.value, false);
    // Memory devices have no device node and are no network interface: udevd skips these.
    warning(p.key + " has no effect on devices without a device node or interface, ignoring.");
    add_token(name ? TokenType::AName : TokenType::ADevlink, p.op, p.value);
    return true;
}

bool LineParser::parse_tag(RawPair& p) {
    if (p.attr) return invalid_attr(p.key);
    if (p.op == Op::AssignFinal) assume_assign(p, "'==', '!=', '=', or '+='");
    if (is_match_op(p.op)) {
        add_token(TokenType::MTag, p.op, p.value);
        return true;
    }
    check_value(p.key, p.value, true);
    add_token(TokenType::ATag, p.op, p.value);
    return true;
}

bool LineParser::parse_test(const RawPair& p) {
    std::optional<unsigned> mode;
    if (p.attr && !p.attr->empty()) {
        mode = parse_mode(*p.attr);
        if (!mode) return error("Failed to parse mode '" + *p.attr + "': Invalid argument");
    }
    check_value(p.key, p.value, true);
    if (!is_match_op(p.op)) return invalid_op(p.key);
    add_token(TokenType::MTest, p.op, p.value, {}, mode);
    return true;
}

bool LineParser::parse_program_or_import(RawPair& p) {
    bool program = p.key == "PROGRAM";
    if (program ? p.attr.has_value() : (!p.attr || p.attr->empty())) return invalid_attr(p.key);
    check_value(p.key, p.value, true);
    if (p.op == Op::Remove) return invalid_op(p.key);
    if (!is_match_op(p.op)) p.op = Op::Match;
    if (program) {
        add_token(TokenType::MProgram, p.op, p.value);
        return true;
    }
    const std::string& a = *p.attr;
    TokenType type;
    if (a == "file") {
        type = TokenType::MImportFile;
    } else if (a == "program") {
        type = is_builtin_command(p.value) ? TokenType::MImportBuiltin : TokenType::MImportProgram;
    } else if (a == "builtin") {
        if (!is_builtin_command(p.value)) return error("Unknown builtin command: " + p.value);
        type = TokenType::MImportBuiltin;
    } else if (a == "db") {
        type = TokenType::MImportDb;
    } else if (a == "cmdline") {
        type = TokenType::MImportCmdline;
    } else if (a == "parent") {
        type = TokenType::MImportParent;
    } else {
        return invalid_attr(p.key);
    }
    add_token(type, p.op, p.value);
    return true;
}

bool LineParser::parse_options(RawPair& p) {
    if (p.attr) return invalid_attr(p.key);
    if (is_match_op(p.op) || p.op == Op::Remove) return invalid_op(p.key);
    if (p.op == Op::Add) p.op = Op::Assign;
    const std::string& v = p.value;
    if (v == "string_escape=none") {
        add_token(TokenType::AOptionsStringEscapeNone, p.op, {});
    } else if (v == "string_escape=replace") {
        add_token(TokenType::AOptionsStringEscapeReplace, p.op, {});
    } else if (v.starts_with("static_node=")) {
        warning("OPTIONS=\"" + v + "\" only sets up /dev nodes, ignoring.");
        add_token(TokenType::AOptionsStaticNode, p.op, v.substr(12));
    } else if (v.starts_with("link_priority=") && !valid_int(std::string_view(v).substr(14))) {
        return error("Failed to parse link priority '" + v.substr(14) + "': Invalid argument");
    } else if (v.starts_with("log_level=") && v != "log_level=reset" &&
               !valid_log_level(std::string_view(v).substr(10))) {
        return error("Failed to parse log level '" + v.substr(10) + "': Invalid argument");
    } else if (v == "db_persist" || v == "watch" || v == "nowatch" ||
               v.starts_with("link_priority=") || v.starts_with("log_level=")) {
        warning("OPTIONS=\"" + v + "\" has no effect here, ignoring.");
        add_token(TokenType::AOptionsNoEffect, p.op, v);
    } else {
        warning("Invalid value for OPTIONS key, ignoring: '" + v + "'");
    }
    return true;
}

bool LineParser::parse_owner_group_mode(RawPair& p) {
    if (p.attr) return invalid_attr(p.key);
    if (is_match_op(p.op) || p.op == Op::Remove) return invalid_op(p.key);
    if (p.op == Op::Add) assume_assign(p, "'=' or ':='");
    TokenType type = p.key == "OWNER"   ? TokenType::AOwner
                     : p.key == "GROUP" ? TokenType::AGroup
                                        : TokenType::AMode;
    bool numeric =
        type == TokenType::AMode
            ? parse_mode(p.value).has_value()
            : (!p.value.empty() && p.value.find_first_not_of("0123456789") == std::string::npos);
    if (!numeric) check_value(p.key, p.value, true);
    warning(p.key + " has no effect on devices without a device node, ignoring.");
    add_token(type, p.op, p.value);
    return true;
}

bool LineParser::parse_seclabel(RawPair& p) {
    if (!p.attr || p.attr->empty()) return invalid_attr(p.key);
    check_value(p.key, p.value, true);
    if (is_match_op(p.op) || p.op == Op::Remove) return invalid_op(p.key);
    if (p.op == Op::AssignFinal) assume_assign(p, "'=' or '+='");
    add_token(TokenType::ASeclabel, p.op, p.value, *p.attr);
    return true;
}

bool LineParser::parse_run(const RawPair& p) {
    if (is_match_op(p.op) || p.op == Op::Remove) return invalid_op(p.key);
    check_value(p.key, p.value, true);
    if (!p.attr || *p.attr == "program") {
        add_token(TokenType::ARunProgram, p.op, p.value);
    } else if (*p.attr == "builtin") {
        if (!is_builtin_command(p.value))
            return error("Unknown builtin command '" + p.value + "', ignoring");
        add_token(TokenType::ARunBuiltin, p.op, p.value);
    } else {
        return invalid_attr(p.key);
    }
    return true;
}

bool LineParser::parse_goto_label(const RawPair& p) {
    if (p.attr) return invalid_attr(p.key);
    if (p.op != Op::Assign) return invalid_op(p.key);
    if (p.key == "LABEL") {
        line_.label = p.value;
        line_.flags |= kHasLabel;
        return true;
    }
    if (line_.flags & kHasGoto) {
        warning("Contains multiple GOTO keys, ignoring GOTO=\"" + p.value + "\".");
        return true;
    }
    line_.goto_label = p.value;
    line_.flags |= kHasGoto;
    return true;
}

}  // namespace hotplugfs::udev
