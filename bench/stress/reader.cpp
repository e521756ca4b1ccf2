// The reader process (reader.h): one random attribute read at a time, judged and classified.
#include "reader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "attr_io.h"
#include "clock.h"
#include "rng.h"
#include "stores.h"
#include "text.h"
#include "well_formed.h"

namespace stress {
namespace {

// The attribute one read is of, and the kind of finding a malformed answer is.
struct Target {
    size_t i;   // a block index, even for files of no block (the draw is always made)
    int block;  // -1 for files of no block
    const std::string* path;
    const char* file;
    Kind kind;
    int node = -1;  // meminfo only
    size_t node_index = 0;

    bool block_file() const {
        return kind == kBadState || kind == kBadOnline || kind == kBadValidZones;
    }
};

// The BlockSeq counters of a block read before the open() and after the close().
struct Seen {
    uint64_t state0 = 0, online0 = 0, state1 = 0, online1 = 0, began = 0;
};

class Reader {
  public:
    Reader(int r_index, const Tree& t, Slot& slot, const BlockSeq* seqs, int writers, bool fast)
        : t_(t), slot_(slot), seqs_(seqs), writers_(writers), fast_(fast), buf_(4096) {
        std::snprintf(detail_, sizeof detail_, "reader %d", r_index);
    }

    // Weights: state 25, online 25, valid_zones 20, has_memory 10, has_normal_memory 10,
    // meminfo 10.
    Target pick(Rng& rng) const {
        const size_t pick = rng.below(100);
        const size_t i = rng.below(static_cast<size_t>(t_.nall));
        const int block = t_.block(i);
        if (pick < 25) return {i, block, &t_.state[i], "state", kBadState};
        if (pick < 50) return {i, block, &t_.online[i], "online", kBadOnline};
        if (pick < 70) return {i, block, &t_.valid_zones[i], "valid_zones", kBadValidZones};
        if (pick < 80) return {i, -1, &t_.has_memory, "node/has_memory", kBadHasMemory};
        if (pick < 90) return {i, -1, &t_.has_normal, "node/has_normal_memory", kBadHasNormal};
        const size_t n = rng.below(t_.nodes.size());
        return {i, -1, &t_.meminfo[n], t_.meminfo_names[n].c_str(), kBadMeminfo, t_.nodes[n], n};
    }

    // One op: the read of `x`, judged.
    void read(const Target& x) {
        Seen seen;
        const ReadOut r = read_watching_stores(x, seen);
        ++slot_.reads;
        const bool watched = x.block_file() && t_.watched(x.i);
        if (watched) ++slot_.watched_reads;
        if (watched && t_.may_vanish[x.i] && r.err == ENOENT &&
            (std::strcmp(r.step, "open") == 0 || std::strcmp(r.step, "read") == 0)) {
            // The block is not there (now): unplugged memory, as the kernel would answer.
            ++(r.step[0] == 'o' ? slot_.vanished_open : slot_.vanished_read);
        } else if (r.err) {
            char d2[128];
            std::snprintf(d2, sizeof d2, "%s: %s failed %s", detail_, r.step,
                          errno_name(r.err).c_str());
            record(slot_, kReadIo, x.block, x.file, r.data, d2);
        } else {
            const bool good = well_formed(x, r.data);
            if (good && watched) ++slot_.watched_ok;
            if (!good) report_malformed(x, r.data, seen, watched);
        }
        slot_.ops.fetch_add(1, std::memory_order_relaxed);
    }

  private:
    ReadOut read_watching_stores(const Target& x, Seen& seen) {
        if (x.block_file()) {
            seen.state0 = seqs_[x.i].state.load();
            seen.online0 = seqs_[x.i].online.load();
            seen.began = now_ns();
        }
        const ReadOut r = read_once(*x.path, buf_.data(), buf_.size());
        if (x.block_file()) {
            seen.state1 = seqs_[x.i].state.load();
            seen.online1 = seqs_[x.i].online.load();
        }
        return r;
    }

    bool well_formed(const Target& x, std::string_view data) const {
        switch (x.kind) {
            case kBadState:
                return state_ok(data);
            case kBadOnline:
                return online_ok(data);
            case kBadValidZones:
                return valid_zones_ok(data);
            case kBadHasMemory:
            case kBadHasNormal:
                return node_list_ok(data);
            default:
                return meminfo_ok(data, x.node, t_.keys[x.node_index]);
        }
    }

    // A malformed block attribute is an anomaly in fast mode.
    Kind judged(Kind kind) const {
        if (!fast_) return kind;
        return kind == kBadState ? kAnomState : kind == kBadOnline ? kAnomOnline : kAnomValidZones;
    }

    void report_malformed(const Target& x, std::string_view data, const Seen& seen, bool watched) {
        if (!x.block_file())
            record(slot_, x.kind, x.block, x.file, data, detail_);
        else if (watched)
            report_watched(x, data);
        else
            report_owned(x, data, seen);
    }

    // Nothing of this tool stores to a watched block: others change it, unseen here.
    void report_watched(const Target& x, std::string_view data) {
        const Kind k = judged(x.kind);
        ++slot_.overlap[k][kOvExternal];
        char d2[200];
        std::snprintf(d2, sizeof d2,
                      "%s: a watched block%s, changed by others (D-Bus, udev, devices)", detail_,
                      t_.may_vanish[x.i] ? " that may vanish" : "");
        record(slot_, k, x.block, x.file, data, d2);
    }

    // An owned block's malformed attribute, by the stores to the block that overlapped it.
    void report_owned(const Target& x, std::string_view data, const Seen& seen) {
        const uint64_t n_state = stores_between(seen.state0, seen.state1);
        const uint64_t n_online = stores_between(seen.online0, seen.online1);
        // valid_zones is never stored to: only the sibling case applies to it.
        uint64_t same = 0;
        if (x.kind == kBadState) same = n_state;
        if (x.kind == kBadOnline) same = n_online;
        Overlap ov = kOvNone;
        if (same)
            ov = kOvSameFile;
        else if (n_state + n_online)
            ov = kOvSibling;
        const Kind k = judged(x.kind);
        ++slot_.overlap[k][ov];
        const std::string latest = latest_store(x, seen, ov);
        char d2[400];
        std::snprintf(d2, sizeof d2,
                      "%s: %llu store(s) to state, %llu to online overlapped the read (%s)",
                      detail_, static_cast<unsigned long long>(n_state),
                      static_cast<unsigned long long>(n_online), latest.c_str());
        record(slot_, k, x.block, x.file, data, d2, ov == kOvNone);
    }

    // The latest store to the block (and, when none overlapped, how long ago it returned), from
    // the block's BlockSeq.
    std::string latest_store(const Target& x, const Seen& seen, Overlap ov) const {
        if (seen.state1 + seen.online1 == 0) return "no store to the block yet";
        const BlockSeq& seq = seqs_[x.i];
        const Action& last = actions()[seq.action.load() % actions().size()];
        std::string latest = std::string("writer ") +
                             std::to_string(x.i % static_cast<size_t>(writers_)) +
                             "'s latest store started: " + (last.to_state ? "state" : "online") +
                             " <- \"" + escape(last.text) + "\"";
        if (ov == kOvNone) {
            char when[80];
            std::snprintf(when, sizeof when, "; it returned %.1f us before this open()",
                          static_cast<double>(seen.began - seq.ended_ns.load()) / 1e3);
            latest += when;
        }
        return latest;
    }

    const Tree& t_;
    Slot& slot_;
    const BlockSeq* seqs_;
    int writers_;
    bool fast_;
    std::vector<char> buf_;
    char detail_[64];
};

}  // namespace

void run_reader(int r_index, uint64_t ops, uint64_t seed, const Tree& t, Slot& slot,
                const BlockSeq* seqs, int writers, bool fast) {
    Rng rng(seed);
    Reader reader(r_index, t, slot, seqs, writers, fast);
    for (uint64_t op = 0; op < ops; ++op) reader.read(reader.pick(rng));
}

}  // namespace stress
