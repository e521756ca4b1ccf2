// The writer process (writer.h): one store at a time, predicted, checked and read back.
#include "writer.h"

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

namespace stress {
namespace {

// One store to one block: what was predicted of it and what it returned.
struct Store {
    size_t i;  // the block's index in the tree
    int block;
    size_t action;  // index into actions()
    const Action* a;
    BlockState before;
    Prediction p;
    const char* file;  // "state" or "online"
    long got;          // what write_once returned
    const char* step;  // the step `got` is about
};

class Writer {
  public:
    Writer(int w, const Tree& t, Slot& slot, uint8_t* expected, BlockSeq* seqs)
        : w_(w), t_(t), slot_(slot), expected_(expected), seqs_(seqs), buf_(4096) {}

    // One op: the store of actions()[action] to the block at index `i`, checked.
    void step(size_t i, size_t action) {
        Store s = plan(i, action);
        make(s);
        if (s.got != s.p.want) {
            report_miss(s);
        } else if (!s.p.ok) {
            ++slot_.writes_refused;
        } else {
            ++slot_.writes_ok;
            if (s.p.after != s.before) ++slot_.changes;
            expected_[i] = static_cast<uint8_t>(s.p.after);
            check_read_your_writes(s);
        }
        slot_.ops.fetch_add(1, std::memory_order_relaxed);
    }

  private:
    Store plan(size_t i, size_t action) const {
        Store s{};
        s.i = i;
        s.block = t_.block(i);
        s.action = action;
        s.a = &actions()[action];
        s.before = static_cast<BlockState>(expected_[i]);
        s.p = predict(*s.a, s.before);
        s.file = s.a->to_state ? "state" : "online";
        s.step = "";
        return s;
    }

    // The store, bracketed by the block's BlockSeq counter so readers can tell it overlapped.
    void make(Store& s) {
        const std::string& path = s.a->to_state ? t_.state[s.i] : t_.online[s.i];
        BlockSeq& seq = seqs_[s.i];
        std::atomic<uint64_t>& counter = s.a->to_state ? seq.state : seq.online;
        seq.action.store(static_cast<uint32_t>(s.action));
        counter.fetch_add(1);  // odd: a store is under way (from before open to after close)
        s.got = write_once(path, s.a->text, &s.step);
        seq.ended_ns.store(now_ns());
        counter.fetch_add(1);
    }

    // "writer W: FILE <- "TEXT" on online|offline block", filled only when something is reported.
    void describe(const Store& s, char (&detail)[200]) const {
        std::snprintf(detail, sizeof detail, "writer %d: %s <- \"%s\" on %s block", w_, s.file,
                      escape(s.a->text).c_str(),
                      s.before == BlockState::Online ? "online" : "offline");
    }

    // A store that returned something other than predicted; then the expectation follows what
    // the daemon now says, so one miss is not counted forever.
    void report_miss(const Store& s) {
        char detail[200];
        describe(s, detail);
        char d2[400];
        if (s.got < 0 && std::strcmp(s.step, "write") != 0) {
            std::snprintf(d2, sizeof d2, "%s: %s failed %s", detail, s.step,
                          errno_name(static_cast<int>(-s.got)).c_str());
            record(slot_, kWriteIo, s.block, s.file, s.a->text, d2);
        } else {
            std::snprintf(d2, sizeof d2, "%s: expected %s, got %s", detail,
                          s.p.want < 0 ? "EINVAL" : std::to_string(s.p.want).c_str(),
                          s.got < 0 ? errno_name(static_cast<int>(-s.got)).c_str()
                                    : std::to_string(s.got).c_str());
            record(slot_, kWriteResult, s.block, s.file, s.a->text, d2);
        }
        const ReadOut r = read_once(t_.state[s.i], buf_.data(), buf_.size());
        if (r.err == 0 && (r.data == "online\n" || r.data == "offline\n"))
            expected_[s.i] = static_cast<uint8_t>(r.data == "online\n" ? BlockState::Online
                                                                       : BlockState::Offline);
    }

    struct Check {
        const std::string* path;
        const char* file;
        std::string_view want;
        Kind kind;
    };

    // state and online after every successful store; valid_zones too after online_movable.
    void check_read_your_writes(const Store& s) {
        const std::string_view want_state = state_text(s.p.after);
        const std::string_view want_online = s.p.after == BlockState::Online ? "1\n" : "0\n";
        const Check checks[3] = {
            {&t_.state[s.i], "state", want_state, kRywState},
            {&t_.online[s.i], "online", want_online, kRywOnline},
            {&t_.valid_zones[s.i], "valid_zones", "Movable\n", kRywValidZones}};
        const size_t nchecks = (s.a->to_state && s.a->word == 3) ? 3 : 2;
        for (size_t c = 0; c < nchecks; ++c) read_back(s, checks[c]);
    }

    void read_back(const Store& s, const Check& check) {
        const ReadOut r = read_once(*check.path, buf_.data(), buf_.size());
        ++slot_.reads;
        char detail[200];
        char d2[400];
        if (r.err) {
            describe(s, detail);
            std::snprintf(d2, sizeof d2, "%s: then %s of %s failed %s", detail, r.step, check.file,
                          errno_name(r.err).c_str());
            record(slot_, kReadIo, s.block, check.file, r.data, d2);
        } else if (r.data != check.want) {
            const std::string got_bytes(r.data);  // the probe reuses `buf_`
            describe(s, detail);
            // Probed only while examples are kept: each probe sleeps 110 ms.
            const std::string probe = slot_.nexamples[check.kind] < kMaxExamples
                                          ? reread_probe(*check.path, buf_.data(), buf_.size())
                                          : "not probed (enough examples)";
            std::snprintf(d2, sizeof d2, "%s: write returned %ld, then expected \"%s\"; %s", detail,
                          s.got, escape(check.want).c_str(), probe.c_str());
            record(slot_, check.kind, s.block, check.file, got_bytes, d2);
        }
    }

    int w_;
    const Tree& t_;
    Slot& slot_;
    uint8_t* expected_;
    BlockSeq* seqs_;
    std::vector<char> buf_;
};

}  // namespace

void run_writer(int w, int writers, uint64_t ops, uint64_t seed, const Tree& t, Slot& slot,
                uint8_t* expected, BlockSeq* seqs) {
    std::vector<size_t> owned;
    for (size_t i = static_cast<size_t>(w); i < static_cast<size_t>(t.nblocks);
         i += static_cast<size_t>(writers))
        owned.push_back(i);
    Rng rng(seed);
    Writer writer(w, t, slot, expected, seqs);
    const size_t nactions = actions().size();
    for (uint64_t op = 0; op < ops; ++op) {
        const size_t i = owned[rng.below(owned.size())];
        writer.step(i, rng.below(nactions));
    }
}

}  // namespace stress
