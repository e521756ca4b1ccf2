// Evaluating match keys (udev_rule_apply_token_to_event for TK_M_*).
#include <fnmatch.h>

#include <cctype>

#include "udev/evaluator.h"
#include "udev/format.h"

namespace hotplugfs::udev {
namespace {

bool is_space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

bool matches(const Token& t, const std::string& s) {
    bool m = false;
    switch (t.match) {
        case MatchKind::Empty:
            m = s.empty();
            break;
        case MatchKind::Subsystem:
            m = s == "subsystem" || s == "class" || s == "bus";
            break;
        case MatchKind::PlainWithEmpty:
        case MatchKind::Plain:
            m = t.match == MatchKind::PlainWithEmpty && s.empty();
            for (const auto& alt : t.alternatives) m = m || alt == s;
            break;
        case MatchKind::GlobWithEmpty:
        case MatchKind::Glob:
            m = t.match == MatchKind::GlobWithEmpty && s.empty();
            for (const auto& alt : t.alternatives) m = m || fnmatch(alt.c_str(), s.c_str(), 0) == 0;
            break;
    }
    return m == (t.op == Op::Match);
}

bool result(const Token& t, bool positive) {
    return positive == (t.op == Op::Match);
}

bool match_attr(EventState& st, const Token& t, const std::string& dev) {
    std::string name = t.attr;
    // "[subsystem/kernel]attribute" names another device; there is no such lookup here.
    if (name.starts_with("[")) return false;
    if (name.find_first_of("%$") != std::string::npos) name = apply_format(st, name);
    std::optional<std::string> v = st.read_attr(dev, name);
    if (!v) return false;  // udevd: an unreadable attribute matches neither == nor !=
    if (t.strip_trailing_ws)
        while (!v->empty() && is_space(v->back())) v->pop_back();
    return matches(t, *v);
}

bool match_test(EventState& st, const Token& t) {
    std::string path = apply_format(st, t.value);
    if (!path.starts_with("/")) path = "/sys" + st.devpath + "/" + path;
    if (!st.device.test_path(path, 0)) return result(t, false);
    if (!t.mode) return result(t, true);
    return result(t, *t.mode != 0 && st.device.test_path(path, *t.mode));
}

// Runs a command line as udevd's udev_event_spawn() would; nullopt when it failed.
std::optional<std::string> spawn(EventState& st, const std::string& cmd) {
    std::vector<std::string> argv = split_command(cmd);
    if (argv.empty()) {
        st.log("Failed to execute \"" + cmd + "\": Invalid argument");
        return std::nullopt;
    }
    if (!argv[0].starts_with("/")) argv[0] = "/usr/lib/udev/" + argv[0];
    ProgramResult r = st.device.run_program(argv, st.out.properties);
    if (r.exit_status < 0) {
        st.log("Failed to execute \"" + cmd + "\", ignoring");
        return std::nullopt;
    }
    if (r.exit_status != 0) return std::nullopt;  // udevd logs this at debug level only
    return std::move(r.out);
}

bool match_program(EventState& st, const Token& t) {
    st.program_result.reset();
    auto out = spawn(st, apply_format(st, t.value));
    if (!out) return result(t, false);
    while (!out->empty() && out->back() == '\n') out->pop_back();
    replace_chars(*out, kAllowedCharsInput);
    st.program_result = std::move(*out);
    return result(t, true);
}

std::string strip(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
}

// get_property_from_string(): KEY=VALUE with optional quotes; false for a malformed line.
bool parse_property(std::string_view line, std::string& key, std::string& value) {
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return false;
    key = strip(line.substr(0, eq));
    value = strip(line.substr(eq + 1));
    if (key.empty() || value.empty()) return false;
    if (value[0] == '"' || value[0] == '\'') {
        if (value.size() == 1 || value.back() != value[0]) return false;
        value = value.substr(1, value.size() - 2);
    }
    return true;
}

bool match_import_program(EventState& st, const Token& t) {
    auto out = spawn(st, apply_format(st, t.value));
    if (!out) return result(t, false);
    std::size_t start = 0;
    while (start <= out->size()) {
        std::size_t nl = out->find('\n', start);
        std::string_view line = std::string_view(*out).substr(
            start, nl == std::string::npos ? std::string::npos : nl - start);
        std::string trimmed = strip(line);
        std::string key, value;
        if (!trimmed.empty() && trimmed[0] != '#' && parse_property(trimmed, key, value))
            st.set_property(key, value);
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    return result(t, true);
}

bool match_import_other(EventState& st, const Token& t) {
    switch (t.type) {
        case TokenType::MImportBuiltin:
            st.log("IMPORT{builtin}=\"" + t.value + "\" is not available here, ignoring");
            return result(t, false);
        case TokenType::MImportFile:
            st.log("IMPORT{file}=\"" + t.value + "\" is not available here, ignoring");
            return result(t, false);
        case TokenType::MImportParent:  // the parent's properties are not known; none imported
            return result(t, st.device.parent(st.devpath).has_value());
        default:  // IMPORT{db}: no database; IMPORT{cmdline}: no such option
            return result(t, false);
    }
}

}  // namespace

bool match_token(EventState& st, const Token& t, const std::string& dev) {
    auto prop = [&](std::string_view k) {
        const std::string* v = st.property(k);
        return v != nullptr ? *v : std::string();
    };
    switch (t.type) {
        case TokenType::MAction:
            return matches(t, prop("ACTION"));
        case TokenType::MDevpath:
            return matches(t, st.devpath);
        case TokenType::MKernel:
        case TokenType::MParentsKernel:
            return matches(t, sysname_of(dev));
        case TokenType::MDevlink:
            return result(t, false);  // no device node, no links
        case TokenType::MName:
            return matches(t, std::string());
        case TokenType::MEnv:
            return matches(t, prop(t.attr));
        case TokenType::MConst:
            return matches(t, st.device.const_value(t.attr));
        case TokenType::MTag:
        case TokenType::MParentsTag:
            if (dev == st.devpath)
                for (const auto& tag : st.out.tags)
                    if (matches(t, tag)) return t.op == Op::Match;
            return t.op == Op::NoMatch;
        case TokenType::MSubsystem:
        case TokenType::MParentsSubsystem:
            return matches(t, st.subsystem_of(dev));
        case TokenType::MDriver:
        case TokenType::MParentsDriver:
            return matches(t, st.driver_of(dev));
        case TokenType::MAttr:
        case TokenType::MParentsAttr:
            return match_attr(st, t, dev);
        case TokenType::MSysctl:
            return matches(t, std::string());  // no sysctls to read here
        case TokenType::MTest:
            return match_test(st, t);
        case TokenType::MProgram:
            return match_program(st, t);
        case TokenType::MImportProgram:
            return match_import_program(st, t);
        case TokenType::MResult:
            return matches(t, st.program_result.value_or(""));
        default:
            return match_import_other(st, t);
    }
}

bool match_parents(EventState& st, const std::vector<Token>& tokens, std::size_t first) {
    // Every parent key of the line must match on one and the same device, walking upwards.
    std::string dev = st.devpath;
    st.dev_parent = dev;
    for (int depth = 0; depth < 256; ++depth) {
        bool all = true;
        for (std::size_t i = first; i < tokens.size() && is_parent_type(tokens[i].type); ++i) {
            if (!match_token(st, tokens[i], dev)) {
                all = false;
                break;
            }
        }
        if (all) return true;
        std::optional<std::string> parent = st.device.parent(dev);
        if (!parent) break;
        dev = *parent;
        st.dev_parent = dev;
    }
    st.dev_parent.reset();
    return false;
}

}  // namespace hotplugfs::udev
