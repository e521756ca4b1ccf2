// Rules files -> lines -> KEY{attr}OP"value" pairs, with udevd 252's quoting and continuation.
#include <algorithm>
#include <array>

#include "udev/parser.h"

namespace hotplugfs::udev {
namespace {

constexpr std::string_view kWhitespace = " \t\n\r";
constexpr std::size_t kLineSize = 16384;  // UDEV_LINE_SIZE: longer logical lines are ignored

bool is_ws(char c) {
    return kWhitespace.find(c) != std::string_view::npos;
}

std::size_t skip(std::string_view s, std::size_t pos, std::string_view chars) {
    while (pos < s.size() && chars.find(s[pos]) != std::string_view::npos) ++pos;
    return pos;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void append_utf8(std::string& out, unsigned long cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Decodes \xHH, \uXXXX, \UXXXXXXXX (digits hex) or \NNN (octal) starting after the backslash.
bool unescape_number(std::string_view s, std::size_t& i, std::string& out) {
    char kind = s[i];
    std::size_t digits = kind == 'x' ? 2 : kind == 'u' ? 4 : kind == 'U' ? 8 : 3;
    std::size_t start = (kind == 'x' || kind == 'u' || kind == 'U') ? i + 1 : i;
    unsigned base = start == i ? 8 : 16;
    if (start + digits > s.size()) return false;
    unsigned long v = 0;
    for (std::size_t k = 0; k < digits; ++k) {
        int d = hex_digit(s[start + k]);
        if (d < 0 || static_cast<unsigned>(d) >= base) return false;
        v = v * base + static_cast<unsigned long>(d);
    }
    // A NUL would cut the value short in udevd; it refuses it, and so do we.
    if (v == 0 || v > 0x10FFFF || (base == 8 && v > 0xFF)) return false;
    if (kind == 'x' || base == 8)
        out += static_cast<char>(v);
    else
        append_utf8(out, v);
    i = start + digits;
    return true;
}

// C-style unescaping of an e"..." value (systemd's cunescape); false on a bad escape.
bool cunescape(std::string_view s, std::string& out) {
    static constexpr std::string_view from = "abfnrtv\\\"'s";
    static constexpr std::string_view to = "\a\b\f\n\r\t\v\\\"' ";
    for (std::size_t i = 0; i < s.size();) {
        if (s[i] != '\\') {
            out += s[i++];
            continue;
        }
        if (++i >= s.size()) return false;
        std::size_t k = from.find(s[i]);
        if (k != std::string_view::npos) {
            out += to[k];
            ++i;
        } else if (!unescape_number(s, i, out)) {
            return false;
        }
    }
    return true;
}

// udev_rule_parse_value: "value" with \" unescaped, or e"value" with C escapes.
bool parse_value(std::string_view text, std::size_t& pos, std::string& value) {
    bool escaped = pos < text.size() && text[pos] == 'e';
    if (escaped) ++pos;
    if (pos >= text.size() || text[pos] != '"') return false;
    ++pos;
    std::size_t start = pos;
    std::string plain;
    for (;; ++pos) {
        if (pos >= text.size()) return false;
        if (text[pos] == '"') break;
        if (text[pos] == '\\' && pos + 1 < text.size() && (escaped || text[pos + 1] == '"')) ++pos;
        if (escaped && pos >= text.size()) return false;
        if (!escaped) plain += text[pos];
    }
    std::string_view raw = text.substr(start, pos - start);
    ++pos;
    if (!escaped) {
        value = std::move(plain);
        return true;
    }
    value.clear();
    return cunescape(raw, value);
}

std::optional<Op> parse_operator(std::string_view s) {
    static constexpr std::array<std::pair<std::string_view, Op>, 6> ops{{{"==", Op::Match},
                                                                         {"!=", Op::NoMatch},
                                                                         {"+=", Op::Add},
                                                                         {"-=", Op::Remove},
                                                                         {"=", Op::Assign},
                                                                         {":=", Op::AssignFinal}}};
    for (const auto& [text, op] : ops)
        if (s.starts_with(text)) return op;
    return std::nullopt;
}

}  // namespace

int next_pair(std::string_view text, std::size_t& pos, RawPair& out) {
    std::size_t key_begin = skip(text, pos, " \t\n\r,");
    if (key_begin >= text.size()) return 0;
    std::size_t key_end = key_begin;
    for (;; ++key_end) {
        if (key_end >= text.size()) return -1;
        char c = text[key_end];
        if (is_ws(c) || c == '=' || c == '{') break;
        if (std::string_view("+-!:").find(c) != std::string_view::npos &&
            key_end + 1 < text.size() && text[key_end + 1] == '=')
            break;
    }
    std::size_t p = key_end;
    out.attr.reset();
    if (text[key_end] == '{') {
        std::size_t close = text.find('}', key_end + 1);
        if (close == std::string_view::npos) return -1;
        out.attr = std::string(text.substr(key_end + 1, close - key_end - 1));
        p = close + 1;
    }
    p = skip(text, p, kWhitespace);
    auto op = parse_operator(text.substr(std::min(p, text.size())));
    if (!op) return -1;
    p += *op == Op::Assign ? 1 : 2;
    p = skip(text, p, kWhitespace);
    if (!parse_value(text, p, out.value)) return -1;
    out.key = std::string(text.substr(key_begin, key_end - key_begin));
    out.op = *op;
    pos = p;
    return 1;
}

bool is_builtin_command(std::string_view command) {
    static constexpr std::array<std::string_view, 11> names{
        "blkid",  "btrfs",          "hwdb",    "input_id", "keyboard", "kmod",
        "net_id", "net_setup_link", "path_id", "usb_id",   "uaccess"};
    std::string_view first = command.substr(0, command.find_first_of(kWhitespace));
    return std::find(names.begin(), names.end(), first) != names.end();
}

void LineParser::add_line(std::string_view text, unsigned number) {
    line_ = RuleLine{};
    line_.number = number;
    line_.text = std::string(text);
    std::size_t pos = 0;
    for (;;) {
        RawPair pair;
        int r = next_pair(text, pos, pair);
        if (r < 0) {
            error("Invalid key/value pair, ignoring.");
            return;
        }
        if (r == 0) break;
        if (!parse_token(pair)) return;
    }
    if (line_.flags == 0) {
        warning("The line takes no effect, ignoring.");
        return;
    }
    std::stable_sort(line_.tokens.begin(), line_.tokens.end(),
                     [](const Token& a, const Token& b) { return a.type < b.type; });
    file_.lines.push_back(std::move(line_));
}

namespace {

// Links each GOTO to the first later LABEL of the same file; a GOTO without one is dropped, and
// a line left with nothing to do goes with it (rule_resolve_goto()).
void resolve_gotos(RuleFile& file, std::vector<ParseError>& errors,
                   std::vector<ParseError>& warnings) {
    std::vector<bool> drop(file.lines.size(), false);
    auto find_label = [&](std::size_t from, const std::string& label) -> std::optional<size_t> {
        for (std::size_t j = from + 1; j < file.lines.size(); ++j)
            if ((file.lines[j].flags & kHasLabel) && file.lines[j].label == label) return j;
        return std::nullopt;
    };
    for (std::size_t i = 0; i < file.lines.size(); ++i) {
        RuleLine& line = file.lines[i];
        if (!(line.flags & kHasGoto) || find_label(i, line.goto_label)) continue;
        errors.push_back({file.path, line.number,
                          "GOTO=\"" + line.goto_label + "\" has no matching label, ignoring"});
        line.flags &= ~static_cast<unsigned>(kHasGoto);
        line.goto_label.clear();
        if ((line.flags & ~static_cast<unsigned>(kHasLabel)) != 0) continue;
        warnings.push_back({file.path, line.number, "The line takes no effect any more, dropping"});
        if (line.flags == kHasLabel)
            line.tokens.clear();
        else
            drop[i] = true;
    }
    std::vector<RuleLine> kept;
    for (std::size_t i = 0; i < file.lines.size(); ++i)
        if (!drop[i]) kept.push_back(std::move(file.lines[i]));
    file.lines = std::move(kept);
    for (std::size_t i = 0; i < file.lines.size(); ++i)
        if (file.lines[i].flags & kHasGoto)
            file.lines[i].goto_target = find_label(i, file.lines[i].goto_label);
}

// Splits at "\n", "\r\n", "\r" or NUL, as systemd's read_line() does.
std::vector<std::string_view> physical_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '\n' && c != '\r' && c != '\0') continue;
        lines.push_back(text.substr(start, i - start));
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        start = i + 1;
    }
    if (start < text.size()) lines.push_back(text.substr(start));
    return lines;
}

}  // namespace

void RuleSet::add_file(const std::string& path, std::string_view text) {
    RuleFile file;
    file.path = path;
    LineParser parser(*this, file);
    std::optional<std::string> continuation;
    bool ignore = false;
    unsigned number = 0;
    for (std::string_view physical : physical_lines(text)) {
        ++number;
        if (physical.size() >= kLineSize) {
            // read_line() fails on such a line and udevd stops reading the file there.
            errors_.push_back({path, number, "Failed to read line: No buffer space available"});
            break;
        }
        std::string_view line =
            physical.substr(std::min(skip(physical, 0, kWhitespace), physical.size()));
        if (!line.empty() && line[0] == '#') continue;  // comments do not end a continuation
        std::string joined;
        if (continuation && !ignore) {
            if (continuation->size() + line.size() >= kLineSize) ignore = true;
            *continuation += line;
            if (!ignore) {
                joined = *continuation;
                line = joined;
            }
        }
        if (!line.empty() && line.back() == '\\') {
            if (ignore) continue;
            if (!continuation)
                continuation = std::string(line.substr(0, line.size() - 1));
            else
                continuation->pop_back();
            continue;
        }
        if (ignore)
            errors_.push_back({path, number, "Line is too long, ignored"});
        else if (!line.empty())
            parser.add_line(line, number);
        continuation.reset();
        ignore = false;
    }
    resolve_gotos(file, errors_, warnings_);
    files_.push_back(std::move(file));
}

std::size_t RuleSet::rule_lines() const {
    std::size_t n = 0;
    for (const auto& f : files_) n += f.lines.size();
    return n;
}

}  // namespace hotplugfs::udev
