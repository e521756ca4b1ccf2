// Finding the tree's paths and the starting states (tree.h).
#include "tree.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <string_view>
#include <utility>

#include "attr_io.h"
#include "stores.h"
#include "text.h"
#include "well_formed.h"

namespace stress {
namespace {

// The owned blocks, then the watched ones ascending (a block in both lists may vanish), and
// their attribute paths.
void add_blocks(const Options& o, Tree& t) {
    for (int b = o.first_block; b <= o.last_block; ++b) {
        t.ids.push_back(b);
        t.may_vanish.push_back(0);
    }
    std::map<int, uint8_t> watched;
    for (const auto& [a, b] : o.watch)
        for (int k = a; k <= b; ++k) watched.emplace(k, 0);
    for (const auto& [a, b] : o.may_vanish)
        for (int k = a; k <= b; ++k) watched[k] = 1;
    for (const auto& [b, vanish] : watched) {
        t.ids.push_back(b);
        t.may_vanish.push_back(vanish);
    }
    t.nall = static_cast<int>(t.ids.size());
    for (const int b : t.ids) {
        const std::string dir = t.memory + "/memory" + std::to_string(b);
        t.state.push_back(dir + "/state");
        t.online.push_back(dir + "/online");
        t.valid_zones.push_back(dir + "/valid_zones");
    }
}

// Every id in node/possible (a node list); node 0 alone when it cannot be read.
std::vector<int> possible_nodes(const Tree& t, std::vector<char>& buf) {
    const ReadOut p = read_once(t.node + "/possible", buf.data(), buf.size());
    if (p.err != 0 || !node_list_ok(p.data)) return {0};
    std::vector<int> candidates;
    std::string_view s = p.data.substr(0, p.data.size() - 1);
    while (!s.empty()) {
        unsigned long a = 0, b = 0;
        parse_uint(s, a);
        b = a;
        if (!s.empty() && s[0] == '-') {
            s.remove_prefix(1);
            parse_uint(s, b);
        }
        for (unsigned long k = a; k <= b && k < 4096; ++k)
            candidates.push_back(static_cast<int>(k));
        if (!s.empty()) s.remove_prefix(1);
    }
    return candidates;
}

// The nodes of `candidates` that have a meminfo, with its key sequence as the baseline.
bool add_nodes(Tree& t, const std::vector<int>& candidates, std::vector<char>& buf) {
    for (int k : candidates) {
        const std::string path = t.node + "/node" + std::to_string(k) + "/meminfo";
        const ReadOut r = read_once(path, buf.data(), buf.size());
        if (r.err) continue;
        auto keys = meminfo_keys(r.data, k);
        if (keys.empty()) {
            std::fprintf(stderr, "hotplugfs-stress: %s is malformed at start: \"%s\"\n",
                         path.c_str(), escape(r.data.substr(0, 200)).c_str());
            return false;
        }
        t.nodes.push_back(k);
        t.meminfo.push_back(path);
        t.meminfo_names.push_back(std::string("node/node") + std::to_string(k) + "/meminfo");
        t.keys.push_back(std::move(keys));
    }
    if (t.nodes.empty()) {
        std::fprintf(stderr, "hotplugfs-stress: no readable %s/nodeK/meminfo\n", t.node.c_str());
        return false;
    }
    return true;
}

}  // namespace

bool build_tree(const Options& o, Tree& t) {
    t.memory = o.root + "/devices/system/memory";
    t.node = o.root + "/devices/system/node";
    t.first = o.first_block;
    t.nblocks = o.last_block - o.first_block + 1;
    add_blocks(o, t);
    t.has_memory = t.node + "/has_memory";
    t.has_normal = t.node + "/has_normal_memory";
    std::vector<char> buf(4096);
    return add_nodes(t, possible_nodes(t, buf), buf);
}

bool initial_states(const Tree& t, uint8_t* out) {
    std::vector<char> buf(4096);
    for (size_t i = 0; i < static_cast<size_t>(t.nblocks); ++i) {
        const ReadOut r = read_once(t.state[i], buf.data(), buf.size());
        if (r.err) {
            std::fprintf(stderr, "hotplugfs-stress: %s: %s failed: %s\n", t.state[i].c_str(),
                         r.step, std::strerror(r.err));
            return false;
        }
        if (r.data != "online\n" && r.data != "offline\n") {
            std::fprintf(stderr, "hotplugfs-stress: %s reads \"%s\" at start\n", t.state[i].c_str(),
                         escape(r.data).c_str());
            return false;
        }
        out[i] =
            static_cast<uint8_t>(r.data == "online\n" ? BlockState::Online : BlockState::Offline);
    }
    return true;
}

std::string describe_watched(const Tree& t) {
    const size_t nblocks = static_cast<size_t>(t.nblocks), nall = static_cast<size_t>(t.nall);
    std::string desc;
    for (size_t i = nblocks; i < nall;) {
        size_t j = i;
        while (j + 1 < nall && t.ids[j + 1] == t.ids[j] + 1 &&
               t.may_vanish[j + 1] == t.may_vanish[i])
            ++j;
        if (!desc.empty()) desc += ",";
        desc += std::to_string(t.ids[i]);
        if (j > i) desc += std::string("-") + std::to_string(t.ids[j]);
        if (t.may_vanish[i]) desc += "*";
        i = j + 1;
    }
    return desc;
}

}  // namespace stress
