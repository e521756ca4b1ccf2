// What one load check found: the numbers it measured, each bound it checked (PASS/FAIL), and
// the lines of its report. The tool's exit status is non-zero when any bound failed.
#pragma once

#include <string>
#include <vector>

namespace load {

class Verdict {
  public:
    explicit Verdict(std::string title) : title_(std::move(title)) {}

    // An informational line: a number measured, not judged.
    void info(const std::string& line);
    // A bound: `measured` against `bound`, e.g. ("RSS growth 1.2 MiB", "<= 8 MiB", true).
    void bound(const std::string& measured, const std::string& limit, bool ok);
    // A failure that is not a number (a hang, a wrong final state, an error).
    void fail(const std::string& why);

    bool passed() const { return passed_; }
    // Prints the title, the lines and PASS/FAIL to stdout.
    void print() const;

  private:
    std::string title_;
    std::vector<std::string> lines_;
    bool passed_ = true;
};

std::string mib(long kib);        // "1.23 MiB"
std::string kib_delta(long kib);  // "+1.23 MiB" / "-0.12 MiB"
std::string usec(double us);      // "52.3 µs"

}  // namespace load
