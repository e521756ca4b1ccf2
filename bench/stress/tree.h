// The sysfs tree under --root as the processes see it: the paths of every block attribute, node
// mask and meminfo they read, found and checked once before any child starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "options.h"

namespace stress {

struct Tree {
    std::string memory;  // ROOT/devices/system/memory
    std::string node;    // ROOT/devices/system/node
    int first = 0;
    int nblocks = 0;       // the writers' blocks: indices 0 .. nblocks-1, blocks first ..
    int nall = 0;          // every block readers read: then the watched ones, ascending
    std::vector<int> ids;  // block number per index
    std::vector<uint8_t> may_vanish;                      // per index: ENOENT is accepted
    std::vector<std::string> state, online, valid_zones;  // per index
    std::string has_memory, has_normal;
    std::vector<int> nodes;                      // node ids that have meminfo
    std::vector<std::string> meminfo;            // per entry of `nodes`
    std::vector<std::string> meminfo_names;      // "node/nodeK/meminfo" per entry of `nodes`
    std::vector<std::vector<std::string>> keys;  // meminfo key sequence per entry of `nodes`

    int block(size_t i) const { return ids[i]; }
    bool watched(size_t i) const { return i >= static_cast<size_t>(nblocks); }
};

// The blocks of `o` and every node with a readable, well-formed meminfo; false with a message
// on stderr when a meminfo is malformed or none is readable.
bool build_tree(const Options& o, Tree& t);

// Reads every owned block's state once (quiescent) into `out` (a BlockState per block); false
// with a message on trouble.
bool initial_states(const Tree& t, uint8_t* out);

// The watched blocks as ranges, "*" after the ones that may vanish.
std::string describe_watched(const Tree& t);

}  // namespace stress
