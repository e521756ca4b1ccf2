// Internal: turns one logical rules line into a RuleLine, reporting as udevd 252 does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "udev/rules.h"

namespace hotplugfs::udev {

// One KEY{attr}OP"value" pair as written.
struct RawPair {
    std::string key;
    std::optional<std::string> attr;  // present (possibly empty) when the key had braces
    Op op = Op::Match;
    std::string value;
};

class LineParser {
  public:
    LineParser(RuleSet& rules, RuleFile& file) : rules_(rules), file_(file) {}

    // Parses a logical line; appends it to the file unless it is bad or takes no effect.
    void add_line(std::string_view text, unsigned number);

  private:
    // Returns false when the pair is bad and the whole line must be dropped (error recorded).
    bool parse_token(RawPair& p);
    bool parse_simple_match(const RawPair& p);
    bool parse_env(RawPair& p);
    bool parse_attr_like(RawPair& p);
    bool parse_name_or_symlink(RawPair& p);
    bool parse_tag(RawPair& p);
    bool parse_test(const RawPair& p);
    bool parse_program_or_import(RawPair& p);
    bool parse_options(RawPair& p);
    bool parse_owner_group_mode(RawPair& p);
    bool parse_seclabel(RawPair& p);
    bool parse_run(const RawPair& p);
    bool parse_goto_label(const RawPair& p);

    void add_token(TokenType type, Op op, std::string value, std::string attr = {},
                   std::optional<unsigned> mode = std::nullopt);
    bool error(const std::string& message);
    void warning(const std::string& message);
    bool invalid_op(const std::string& key) { return error("Invalid operator for " + key + "."); }
    bool invalid_attr(const std::string& key) {
        return error("Invalid attribute for " + key + ".");
    }
    void check_value(const std::string& key, const std::string& value, bool nonempty);
    bool check_attr(const std::string& key, const std::optional<std::string>& attr);
    void assume_assign(RawPair& p, std::string_view ops);

    RuleSet& rules_;
    RuleFile& file_;
    RuleLine line_;
};

// Parses the next pair starting at text[pos]. Returns 1 and advances pos, 0 at the end of the
// line, -1 on a malformed pair.
int next_pair(std::string_view text, std::size_t& pos, RawPair& out);

// The builtin commands of udevd 252, for IMPORT{builtin} and RUN{builtin}.
bool is_builtin_command(std::string_view command);

}  // namespace hotplugfs::udev
