// A test-only fault hook: HOTPLUGFS_TEST_THROW="KEY[,KEY...]" makes the places that check a KEY
// throw, so tests can show that an exception inside a request handler ends that request only
// (EIO) and never the daemon. Unset (always, outside tests), every check is one load and a
// compare.
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

// Throws std::runtime_error when KEY is listed.
inline void check(std::string_view key) {
    const std::string& k = keys();
    if (k.empty()) return;
    std::string wanted(1, ',');
    wanted += key;
    wanted += ',';
    if (k.find(wanted) != std::string::npos) {
        std::string what("test fault: ");
        what += key;
        throw std::runtime_error(what);
    }
}

}  // namespace hotplugfs::test_fault
