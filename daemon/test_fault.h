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
    static const std::string value = [] {
        const char* v = std::getenv("HOTPLUGFS_TEST_THROW");
        return v ? "," + std::string(v) + "," : std::string();
    }();
    return value;
}

// Throws std::runtime_error when KEY is listed.
inline void check(std::string_view key) {
    const std::string& k = keys();
    if (k.empty()) return;
    if (k.find("," + std::string(key) + ",") != std::string::npos)
        throw std::runtime_error("test fault: " + std::string(key));
}

}  // namespace hotplugfs::test_fault
