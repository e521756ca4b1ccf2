// Text that came from a user (a name, a path, a value written, a rule line) made safe to print:
// a byte below 0x20 and DEL become \xNN, so a NUL cannot cut a message short, a newline cannot
// forge a log line, and an escape sequence cannot reach a terminal. Every other byte, UTF-8
// included, is kept. Applied where text leaves the daemon or hotplugctl: log lines, error lines
// on stderr, D-Bus error messages. The backslash is kept too, so that escaping what is already
// escaped (a D-Bus error hotplugctl prints) changes nothing.
#pragma once

#include <string>
#include <string_view>

namespace hotplugfs {

// `ascii`: bytes from 0x80 up are escaped too, for a D-Bus string, which must be valid UTF-8.
inline std::string printable(std::string_view text, bool ascii = false) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte != 0x7f && !(ascii && byte >= 0x80)) {
            out += c;
            continue;
        }
        out += "\\x";
        out += kHex[byte >> 4];
        out += kHex[byte & 0xf];
    }
    return out;
}

}  // namespace hotplugfs
