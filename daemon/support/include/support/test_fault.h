// A test-only fault hook: HOTPLUGFS_TEST_THROW="KEY[,KEY...]" makes the places that check a KEY
// throw, so tests can show that an exception inside a request handler ends that request only
// (EIO) and never the daemon. Unset (always, outside tests), every check is one load and a
// compare. A few keys switch a behaviour instead (listed()): "no-resend" (the daemon acts as if
// the kernel could not resend requests after a takeover) and "stall:read" (every READ waits
// until the daemon stops, so that a test can kill the daemon while reads are in flight).
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hotplugfs::test_fault {

inline const std::string& keys() {
    // Built by appending: g++ 12 at -O3 warns a false -Wrestrict for `"," + std::string`.
    static const std::string value = [] {
        std::string keys;
        if (const char* v = std::getenv("HOTPLUGFS_TEST_THROW")) {
            keys += ',';
            keys += v;
            keys += ',';
        }
        return keys;
    }();
    return value;
}

// Whether KEY is listed.
inline bool listed(std::string_view key) {
    const std::string& k = keys();
    if (k.empty()) return false;
    std::string wanted(1, ',');
    wanted += key;
    wanted += ',';
    return k.find(wanted) != std::string::npos;
}

// Throws std::runtime_error when KEY is listed.
inline void check(std::string_view key) {
    if (listed(key)) {
        std::string what("test fault: ");
        what += key;
        throw std::runtime_error(what);
    }
}

}  // namespace hotplugfs::test_fault
