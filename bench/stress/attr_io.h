// Reading and writing one sysfs attribute the way shell tools do (one open, one read or write,
// one close), so the mount sees exactly the requests `cat` and `echo` would make.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace stress {

struct ReadOut {
    int err = 0;            // 0, or the errno of the failing step
    const char* step = "";  // "open", "read", "close"
    std::string_view data;  // valid until the next read into the same buffer
};

ReadOut read_once(const std::string& path, char* buf, size_t cap);

// Returns the write() result: byte count, or -errno (also of a failing open/close: `step`).
long write_once(const std::string& path, std::string_view text, const char** step);

// After a read-your-writes miss: the size and mtime stat() reports right away, then what the
// file reads again now, 10 ms and 100 ms later, to tell a passing glitch from content that stays.
std::string reread_probe(const std::string& path, char* buf, size_t cap);

}  // namespace stress
