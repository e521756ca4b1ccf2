// What counts as a well-formed answer from each attribute the tool reads (spec: the kernel's
// formats): a read that fails these checks is a malformed read, a violation or, in fast mode, an
// anomaly.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stress {

bool state_ok(std::string_view s);        // "online\n", "offline\n" or "going-offline\n"
bool online_ok(std::string_view s);       // "0\n" or "1\n"
bool valid_zones_ok(std::string_view s);  // distinct known zones, "none" only alone, then "\n"

// A decimal without leading zeros at the front of `s`, consumed.
bool parse_uint(std::string_view& s, unsigned long& v);

// Node list: "" or "a[-b](,a[-b])*", ascending, then exactly one "\n".
bool node_list_ok(std::string_view s);

// Each line "Node K <Key>:<spaces><digits>[ kB]"; the key sequence must equal the baseline.
bool meminfo_ok(std::string_view s, int node, const std::vector<std::string>& keys);

// The key sequence of a (known good) meminfo; empty on a malformed one.
std::vector<std::string> meminfo_keys(std::string_view s, int node);

}  // namespace stress
