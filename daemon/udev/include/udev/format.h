// Substitutions in rule values (%k, $kernel, %E{KEY}, ...) and the character filters udev applies.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hotplugfs::udev {

class EventState;

struct FormatProblem {
    std::size_t offset;  // 1-based character position, as udev reports it
    std::string hint;
};

// Parse-time check of a value (udev_check_format): unknown $name or %c, a missing {attribute}, a
// non-numeric %c{N}. Returns the first problem, if any.
std::optional<FormatProblem> check_format(std::string_view value);

// Expands every substitution. An unknown $name or %c is copied literally (udevd does that at run
// time); a malformed one ends the expansion and is logged.
std::string apply_format(EventState& state, std::string_view src);

// udev_replace_chars: every character that is not alphanumeric, in "#+-.:=@_", valid UTF-8, or in
// `allow` becomes '_' (whitespace becomes ' ' when ' ' is allowed). Returns the count replaced.
std::size_t replace_chars(std::string& s, std::string_view allow);
inline constexpr std::string_view kAllowedCharsInput = "/ $%?,";

// Splits a PROGRAM/RUN command line into argv as udevd does before it spawns the program: words
// separated by whitespace, '...' and "..." quote, backslash escapes are kept.
std::vector<std::string> split_command(std::string_view command);

}  // namespace hotplugfs::udev
