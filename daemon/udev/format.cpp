#include "udev/format.h"

#include <array>
#include <cctype>
#include <charconv>

#include "udev/event_state.h"

namespace hotplugfs::udev {
namespace {

enum class Subst {
    Devnode,
    Attr,
    Env,
    Kernel,
    Number,
    Driver,
    Devpath,
    Id,
    Major,
    Minor,
    Result,
    Parent,
    Name,
    Links,
    Root,
    Sys
};

struct SubstEntry {
    std::string_view name;
    char fmt;
    Subst type;
};

// udev looks the names up in this order with a prefix match, so "$devnode" wins over "$devpath"
// only by spelling, and "$kernelX" is $kernel followed by "X".
constexpr std::array<SubstEntry, 18> kMap{{
    {"devnode", 'N', Subst::Devnode},
    {"tempnode", 'N', Subst::Devnode},
    {"attr", 's', Subst::Attr},
    {"sysfs", 's', Subst::Attr},
    {"env", 'E', Subst::Env},
    {"kernel", 'k', Subst::Kernel},
    {"number", 'n', Subst::Number},
    {"driver", 'd', Subst::Driver},
    {"devpath", 'p', Subst::Devpath},
    {"id", 'b', Subst::Id},
    {"major", 'M', Subst::Major},
    {"minor", 'm', Subst::Minor},
    {"result", 'c', Subst::Result},
    {"parent", 'P', Subst::Parent},
    {"name", 'D', Subst::Name},
    {"links", 'L', Subst::Links},
    {"root", 'r', Subst::Root},
    {"sys", 'S', Subst::Sys},
}};

enum class Scan { Literal, Substitution, Invalid };

struct ScanResult {
    Scan kind = Scan::Literal;
    std::size_t next = 0;  // index after what was consumed
    Subst type = Subst::Sys;
    std::string attr;
};

// One step of udev's get_subst_type(): what starts at src[i].
ScanResult scan(std::string_view src, std::size_t i, bool strict) {
    ScanResult r;
    char c = src[i];
    std::string_view rest = src.substr(i + 1);
    if ((c != '$' && c != '%') || (!rest.empty() && rest[0] == c)) {
        r.next = c == '$' || c == '%' ? i + 2 : i + 1;  // "$$" and "%%" are one literal
        return r;
    }
    const SubstEntry* found = nullptr;
    std::size_t q = 0;
    for (const auto& e : kMap) {
        if (c == '$' ? rest.starts_with(e.name) : (!rest.empty() && rest[0] == e.fmt)) {
            found = &e;
            q = i + 1 + (c == '$' ? e.name.size() : 1);
            break;
        }
    }
    if (found == nullptr) {
        r.kind = strict ? Scan::Invalid : Scan::Literal;
        r.next = i + 1;
        return r;
    }
    if (q < src.size() && src[q] == '{') {
        std::size_t end = src.find('}', q + 1);
        if (end == std::string_view::npos || end == q + 1) {
            r.kind = Scan::Invalid;
            r.next = i;
            return r;
        }
        r.attr = std::string(src.substr(q + 1, end - q - 1));
        q = end + 1;
    }
    r.kind = Scan::Substitution;
    r.type = found->type;
    r.next = q;
    return r;
}

// %c{N} / %c{N+}: the number and whether '+' follows.
bool parse_result_index(const std::string& attr, unsigned& index, bool& plus) {
    std::string_view s = attr;
    plus = !s.empty() && s.back() == '+';
    if (plus) s.remove_suffix(1);
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), index);
    return ec == std::errc() && p == s.data() + s.size();
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string result_field(const std::string& result, const std::string& attr) {
    unsigned index = 0;
    bool plus = false;
    if (!attr.empty() && !parse_result_index(attr, index, plus)) return {};
    if (index == 0) return result;
    std::size_t p = 0;
    auto skip_ws = [&] {
        while (p < result.size() && is_space(result[p])) ++p;
    };
    skip_ws();
    unsigned i = 1;
    for (; i < index; ++i) {
        while (p < result.size() && !is_space(result[p])) ++p;
        skip_ws();
        if (p >= result.size()) break;
    }
    if (i != index) return {};  // fewer fields than asked for
    if (plus) return result.substr(p);
    std::size_t end = p;
    while (end < result.size() && !is_space(result[end])) ++end;
    return result.substr(p, end - p);
}

std::string attr_value(EventState& st, const std::string& attr) {
    auto v = st.read_attr(st.devpath, attr);
    if (!v && st.dev_parent && *st.dev_parent != st.devpath) v = st.read_attr(*st.dev_parent, attr);
    if (!v) return {};
    std::string s = *v;
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    replace_chars(s, kAllowedCharsInput);
    return s;
}

std::string substitute(EventState& st, Subst type, const std::string& attr) {
    auto prop = [&](std::string_view k) {
        const std::string* v = st.property(k);
        return v != nullptr ? *v : std::string();
    };
    switch (type) {
        case Subst::Devpath:
            return st.devpath;
        case Subst::Kernel:
            return st.kernel;
        case Subst::Number:
            return sysnum_of(st.kernel);
        case Subst::Id:
            return st.dev_parent ? sysname_of(*st.dev_parent) : std::string();
        case Subst::Driver:
            return st.dev_parent ? st.driver_of(*st.dev_parent) : std::string();
        case Subst::Major:
            return st.has_devnum() ? prop("MAJOR") : "0";
        case Subst::Minor:
            return st.has_devnum() ? prop("MINOR") : "0";
        case Subst::Result:
            return st.program_result ? result_field(*st.program_result, attr) : "";
        case Subst::Attr:
            return attr_value(st, attr);
        case Subst::Devnode:
            return prop("DEVNAME");
        case Subst::Name: {
            std::string devname = prop("DEVNAME");
            if (devname.starts_with("/dev/")) return devname.substr(5);
            return st.kernel;
        }
        case Subst::Parent:
        case Subst::Links:
            return {};  // no device nodes here
        case Subst::Root:
            return "/dev";
        case Subst::Sys:
            return "/sys";
        case Subst::Env:
            return prop(attr);
    }
    return {};
}

}  // namespace

std::optional<FormatProblem> check_format(std::string_view value) {
    std::size_t i = 0;
    while (i < value.size()) {
        ScanResult r = scan(value, i, true);
        if (r.kind == Scan::Invalid) return FormatProblem{i + 1, "invalid substitution type"};
        if (r.kind == Scan::Substitution) {
            if ((r.type == Subst::Attr || r.type == Subst::Env) && r.attr.empty())
                return FormatProblem{r.next + 1, "attribute value missing"};
            unsigned index = 0;
            bool plus = false;
            if (r.type == Subst::Result && !r.attr.empty() &&
                !parse_result_index(r.attr, index, plus))
                return FormatProblem{r.next + 1, "attribute value not a valid number"};
        }
        i = r.next;
    }
    return std::nullopt;
}

std::string apply_format(EventState& st, std::string_view src) {
    std::string out;
    std::size_t i = 0;
    while (i < src.size()) {
        ScanResult r = scan(src, i, false);
        if (r.kind == Scan::Invalid) {
            st.log("Invalid format string, ignoring: " + std::string(src));
            break;
        }
        if (r.kind == Scan::Literal) {
            out += src[r.next - 1];  // for "$$" that is the second '$'
            i = r.next;
            continue;
        }
        if ((r.type == Subst::Attr || r.type == Subst::Env) && r.attr.empty()) {
            st.log("Failed to substitute variable in '" + std::string(src) + "', ignoring");
            break;
        }
        out += substitute(st, r.type, r.attr);
        i = r.next;
    }
    return out;
}

std::size_t replace_chars(std::string& s, std::string_view allow) {
    std::size_t replaced = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (std::isalnum(c) || std::string_view("#+-.:=@_").find(s[i]) != std::string_view::npos ||
            allow.find(s[i]) != std::string_view::npos)
            continue;
        if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'x') {
            ++i;  // hex escapes such as \x20 are kept
            continue;
        }
        if (c >= 0x80) continue;  // multi-byte UTF-8 is kept (validity is not checked here)
        s[i] = std::isspace(c) && allow.find(' ') != std::string_view::npos ? ' ' : '_';
        ++replaced;
    }
    return replaced;
}

std::vector<std::string> split_command(std::string_view command) {
    std::vector<std::string> argv;
    std::size_t i = 0;
    while (true) {
        while (i < command.size() && is_space(command[i])) ++i;
        if (i >= command.size()) break;
        std::string word;
        char quote = 0;
        for (; i < command.size(); ++i) {
            char c = command[i];
            if (quote == 0 && is_space(c)) break;
            if (c == '\\' && i + 1 < command.size()) {
                word += c;  // escapes are kept for the program to see
                word += command[++i];
            } else if (quote != 0 && c == quote) {
                quote = 0;
            } else if (quote == 0 && (c == '\'' || c == '"')) {
                quote = c;
            } else {
                word += c;
            }
        }
        argv.push_back(std::move(word));
    }
    return argv;
}

}  // namespace hotplugfs::udev
