// The command line of hotplugfs-stress: what to stress, how hard, and how to judge it. Errors
// print the usage and exit 2, as --help does.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stress {

struct Options {
    std::string root;
    uint64_t ops = 0;
    int writers = 2;
    int readers = 2;
    uint64_t seed = 0;
    bool seed_set = false;
    int first_block = 72;
    int last_block = 135;
    double stall_timeout = 60.0;  // no progress at all for this long: children are killed
    double timeout = 0.0;         // overall limit (0: none)
    bool fast = false;            // --mode fast: readers' malformed block reads are anomalies
    // --watch / --may-vanish: blocks the writers do not own, as inclusive ranges.
    std::vector<std::pair<int, int>> watch, may_vanish;
};

Options parse_options(int argc, char** argv);

}  // namespace stress
