// The well-formedness checks of every attribute read (well_formed.h).
#include "well_formed.h"

#include <charconv>
#include <iterator>

namespace stress {

bool state_ok(std::string_view s) {
    return s == "online\n" || s == "offline\n" || s == "going-offline\n";
}

bool online_ok(std::string_view s) {
    return s == "0\n" || s == "1\n";
}

bool valid_zones_ok(std::string_view s) {
    if (s.size() < 2 || s.back() != '\n') return false;
    s.remove_suffix(1);
    static constexpr std::string_view kZones[] = {"DMA", "DMA32", "Normal", "Movable", "none"};
    unsigned seen = 0;  // bit per entry of kZones
    size_t count = 0;
    for (;;) {
        const size_t sp = s.find(' ');
        const std::string_view tok = s.substr(0, sp);
        size_t z = 0;
        while (z < std::size(kZones) && kZones[z] != tok) ++z;
        if (z == std::size(kZones) || (seen & (1u << z))) return false;  // unknown or repeated
        seen |= 1u << z;
        ++count;
        if (sp == std::string_view::npos) break;
        s.remove_prefix(sp + 1);
    }
    return count == 1 || !(seen & (1u << 4));  // "none" only alone
}

bool parse_uint(std::string_view& s, unsigned long& v) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p == s.data()) return false;
    if (s.size() > 1 && s[0] == '0' && p - s.data() > 1) return false;  // no leading zeros
    s.remove_prefix(static_cast<size_t>(p - s.data()));
    return true;
}

bool node_list_ok(std::string_view s) {
    if (s.empty() || s.back() != '\n') return false;
    s.remove_suffix(1);
    if (s.empty()) return true;
    long last = -1;
    for (;;) {
        unsigned long a = 0, b = 0;
        if (!parse_uint(s, a)) return false;
        b = a;
        if (!s.empty() && s[0] == '-') {
            s.remove_prefix(1);
            if (!parse_uint(s, b) || b <= a) return false;
        }
        if (static_cast<long>(a) <= last + 1 && last >= 0) return false;  // must be merged
        last = static_cast<long>(b);
        if (s.empty()) return true;
        if (s[0] != ',') return false;
        s.remove_prefix(1);
    }
}

bool meminfo_ok(std::string_view s, int node, const std::vector<std::string>& keys) {
    if (s.empty() || s.back() != '\n') return false;
    const std::string prefix = std::string("Node ") + std::to_string(node) + " ";
    size_t line_no = 0;
    while (!s.empty()) {
        const size_t nl = s.find('\n');
        std::string_view line = s.substr(0, nl);
        s.remove_prefix(nl + 1);
        if (line.substr(0, prefix.size()) != prefix) return false;
        line.remove_prefix(prefix.size());
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return false;
        if (line_no >= keys.size() || line.substr(0, colon) != keys[line_no]) return false;
        ++line_no;
        line.remove_prefix(colon + 1);
        size_t spaces = 0;
        while (spaces < line.size() && line[spaces] == ' ') ++spaces;
        if (spaces == 0) return false;
        line.remove_prefix(spaces);
        if (line.size() > 3 && line.substr(line.size() - 3) == " kB") line.remove_suffix(3);
        if (line.empty()) return false;
        for (char c : line)
            if (c < '0' || c > '9') return false;
    }
    return line_no == keys.size();
}

std::vector<std::string> meminfo_keys(std::string_view s, int node) {
    std::vector<std::string> keys;
    const std::string prefix = std::string("Node ") + std::to_string(node) + " ";
    if (s.empty() || s.back() != '\n') return {};
    while (!s.empty()) {
        const size_t nl = s.find('\n');
        std::string_view line = s.substr(0, nl);
        s.remove_prefix(nl + 1);
        if (line.substr(0, prefix.size()) != prefix) return {};
        line.remove_prefix(prefix.size());
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return {};
        keys.emplace_back(line.substr(0, colon));
    }
    return keys;
}

}  // namespace stress
