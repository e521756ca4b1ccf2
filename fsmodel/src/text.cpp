#include "fsmodel/text.h"

#include <cerrno>
#include <cctype>

namespace fsmodel {

std::string_view as_c_string(std::string_view written) {
    const auto nul = written.find('\0');
    return nul == std::string_view::npos ? written : written.substr(0, nul);
}

bool sysfs_streq(std::string_view a, std::string_view b) {
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    const std::string_view ra = a.substr(i), rb = b.substr(i);
    if (ra.empty() && rb.empty()) return true;
    if (ra.empty() && rb == "\n") return true;
    if (ra == "\n" && rb.empty()) return true;
    return false;
}

std::optional<bool> kstrtobool(std::string_view s) {
    if (s.empty()) return std::nullopt;
    switch (s[0]) {
        case 'y': case 'Y': case 't': case 'T': case '1': return true;
        case 'n': case 'N': case 'f': case 'F': case '0': return false;
        case 'o': case 'O':
            if (s.size() > 1 && (s[1] == 'n' || s[1] == 'N')) return true;
            if (s.size() > 1 && (s[1] == 'f' || s[1] == 'F')) return false;
            return std::nullopt;
        default: return std::nullopt;
    }
}

namespace {

int digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    const int lower = std::tolower(static_cast<unsigned char>(c));
    if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
    return 99;
}

}  // namespace

int kstrtoull(std::string_view s, unsigned base, uint64_t& out) {
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    auto has_hex_prefix = [&] {
        return s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
               std::isxdigit(static_cast<unsigned char>(s[2]));
    };
    if (base == 0) {
        if (has_hex_prefix()) {
            base = 16;
            s.remove_prefix(2);
        } else {
            base = (!s.empty() && s[0] == '0') ? 8 : 10;
        }
    } else if (base == 16 && has_hex_prefix()) {
        s.remove_prefix(2);
    }
    uint64_t value = 0;
    size_t i = 0;
    bool overflow = false;
    for (; i < s.size(); ++i) {
        const int d = digit_value(s[i]);
        if (d >= static_cast<int>(base)) break;
        if (value > (UINT64_MAX - d) / base) overflow = true;
        value = value * base + d;
    }
    if (i == 0) return EINVAL;
    if (overflow) return ERANGE;
    std::string_view rest = s.substr(i);
    if (!rest.empty() && rest[0] == '\n') rest.remove_prefix(1);
    if (!rest.empty()) return EINVAL;
    out = value;
    return 0;
}

int kstrtouint(std::string_view s, unsigned base, unsigned& out) {
    uint64_t v = 0;
    if (int err = kstrtoull(s, base, v)) return err;
    if (v > UINT32_MAX) return ERANGE;
    out = static_cast<unsigned>(v);
    return 0;
}

std::string format_list(const std::vector<int>& ids) {
    std::string out;
    for (size_t i = 0; i < ids.size();) {
        size_t j = i;
        while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(ids[i]);
        if (j > i) out += '-' + std::to_string(ids[j]);
        i = j + 1;
    }
    return out;
}

std::string format_mask(const std::vector<int>& ids, int nbits) {
    const int digits = (nbits + 3) / 4;
    std::string nibbles(static_cast<size_t>(digits), 0);
    for (int id : ids)
        if (id >= 0 && id < nbits) nibbles[static_cast<size_t>(id / 4)] |= 1 << (id % 4);
    std::string out;
    for (int d = digits - 1; d >= 0; --d) {
        out += "0123456789abcdef"[static_cast<int>(nibbles[static_cast<size_t>(d)])];
        if (d > 0 && d % 8 == 0) out += ',';
    }
    return out;
}

}  // namespace fsmodel
