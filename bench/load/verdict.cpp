// Verdict (verdict.h): the report of one check.
#include "verdict.h"

#include <cstdio>

namespace load {

void Verdict::info(const std::string& line) {
    lines_.push_back("  " + line);
}

void Verdict::bound(const std::string& measured, const std::string& limit, bool ok) {
    lines_.push_back(std::string(ok ? "  PASS  " : "  FAIL  ") + measured + "  (bound " + limit +
                     ")");
    if (!ok) passed_ = false;
}

void Verdict::fail(const std::string& why) {
    lines_.push_back(std::string("  FAIL  ") + why);
    passed_ = false;
}

void Verdict::print() const {
    std::printf("=== %s: %s\n", title_.c_str(), passed_ ? "PASS" : "FAIL");
    for (const auto& l : lines_) std::printf("%s\n", l.c_str());
    std::fflush(stdout);
}

std::string mib(long kib) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(kib) / 1024.0);
    return buf;
}

std::string kib_delta(long kib) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.2f MiB", static_cast<double>(kib) / 1024.0);
    return buf;
}

std::string usec(double us) {
    char buf[32];
    std::snprintf(buf, sizeof buf, us < 100 ? "%.1f µs" : "%.0f µs", us);
    return buf;
}

}  // namespace load
