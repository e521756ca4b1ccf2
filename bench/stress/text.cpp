// Spelling bytes and errors for the report (text.h).
#include "text.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <algorithm>

namespace stress {

void copy_cstr(char* dst, size_t cap, std::string_view src) {
    const size_t n = std::min(cap - 1, src.size());
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}

std::string_view last_component(std::string_view file) {
    const size_t slash = file.rfind('/');
    return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

std::string escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        switch (c) {
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\0':
                out += "\\0";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            default:
                if (c >= 0x20 && c < 0x7f) {
                    out += static_cast<char>(c);
                } else {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\x%02x", c);
                    out += hex;
                }
        }
    }
    return out;
}

std::string errno_name(int err) {
    switch (err) {
        case 0:
            return "success";
        case EINVAL:
            return "EINVAL";
        case EBUSY:
            return "EBUSY";
        case EACCES:
            return "EACCES";
        case EPERM:
            return "EPERM";
        case ENOENT:
            return "ENOENT";
        case EINTR:
            return "EINTR";
        case EIO:
            return "EIO";
        case ENOTCONN:
            return "ENOTCONN";
        case ENXIO:
            return "ENXIO";
        case EAGAIN:
            return "EAGAIN";
        default:
            return std::string("errno ") + std::to_string(err);
    }
}

}  // namespace stress
