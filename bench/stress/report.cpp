// Adding up the slots and printing the summary (report.h).
#include "report.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "text.h"

namespace stress {
namespace {

// Everything the slots recorded, added up.
struct Totals {
    uint64_t ops = 0, wops = 0, rops = 0, ok = 0, refused = 0, changes = 0, reads = 0;
    uint64_t watched_reads = 0, watched_ok = 0, vanished_open = 0, vanished_read = 0;
    uint64_t counts[kKinds] = {};
    uint64_t overlap[kKinds][kOverlaps] = {};
    std::vector<std::vector<const Example*>> ex = std::vector<std::vector<const Example*>>(kKinds);
    std::vector<std::vector<const Example*>> lone =
        std::vector<std::vector<const Example*>>(kKinds);
};

Totals add_up(const Options& o, const Slot* slots, size_t nchildren) {
    Totals t;
    for (size_t c = 0; c < nchildren + 2; ++c) {
        const Slot& s = slots[c];
        const uint64_t n = c < nchildren ? s.ops.load() : 0;
        t.ops += n;
        if (c < static_cast<size_t>(o.writers))
            t.wops += n;
        else if (c < nchildren)
            t.rops += n;
        t.ok += s.writes_ok;
        t.refused += s.writes_refused;
        t.changes += s.changes;
        t.reads += s.reads;
        t.watched_reads += s.watched_reads;
        t.watched_ok += s.watched_ok;
        t.vanished_open += s.vanished_open;
        t.vanished_read += s.vanished_read;
        for (int k = 0; k < kKinds; ++k) {
            t.counts[k] += s.counts[k];
            for (int v = 0; v < kOverlaps; ++v) t.overlap[k][v] += s.overlap[k][v];
            for (uint32_t e = 0; e < s.nexamples[k]; ++e) t.ex[k].push_back(&s.examples[k][e]);
            for (uint32_t e = 0; e < s.nlone[k]; ++e) t.lone[k].push_back(&s.lone[k][e]);
        }
    }
    return t;
}

// The earliest examples of one list, `indent` deep (times relative to `t0`).
void print_examples(int k, std::vector<const Example*>& v, const char* indent, uint64_t t0) {
    std::sort(v.begin(), v.end(),
              [](const Example* a, const Example* b) { return a->t_ns < b->t_ns; });
    for (size_t e = 0; e < v.size() && e < static_cast<size_t>(kMaxExamples); ++e) {
        const Example& x = *v[e];
        const double at = x.t_ns >= t0 ? static_cast<double>(x.t_ns - t0) / 1e9 : 0.0;
        if (k == kChild) {
            std::printf("%s[%.3f s] %s\n", indent, at, x.detail);
            continue;
        }
        std::string where = x.block >= 0 ? std::string("block ") + std::to_string(x.block) : "-";
        std::printf("%s[%.3f s] %s %s \"%s\"%s  (%s)\n", indent, at, where.c_str(), x.file,
                    escape(std::string_view(x.bytes, x.len)).c_str(), x.truncated ? "..." : "",
                    x.detail);
    }
}

// Every distinct byte string one kind saw, most frequent first.
void print_contents(int k, const Slot* slots, size_t nslots) {
    std::vector<Distinct> all;
    uint64_t other = 0;
    for (size_t c = 0; c < nslots; ++c) {
        const Slot& s = slots[c];
        other += s.other[k];
        for (uint32_t d = 0; d < s.ndistinct[k]; ++d) {
            const Distinct& x = s.distinct[k][d];
            auto it = std::find_if(all.begin(), all.end(), [&](const Distinct& y) {
                return y.len == x.len && std::memcmp(y.bytes, x.bytes, x.len) == 0 &&
                       std::strcmp(y.file, x.file) == 0;
            });
            if (it == all.end())
                all.push_back(x);
            else
                it->count += x.count;
        }
    }
    std::sort(all.begin(), all.end(),
              [](const Distinct& a, const Distinct& b) { return a.count > b.count; });
    std::printf("    by content:");
    for (const Distinct& x : all)
        std::printf(" %s=\"%s\" x%llu;", x.file, escape(std::string_view(x.bytes, x.len)).c_str(),
                    static_cast<unsigned long long>(x.count));
    if (other) std::printf(" other x%llu;", static_cast<unsigned long long>(other));
    std::printf("\n");
}

// One kind: its count, the earliest examples, the reader overlap breakdown, the contents.
void print_kind(int k, Totals& t, const Slot* slots, size_t nslots, uint64_t t0) {
    std::printf("  %s: %llu\n", kKindNames[k], static_cast<unsigned long long>(t.counts[k]));
    print_examples(k, t.ex[k], "    ", t0);
    if (k == kChild) return;
    uint64_t classified = 0;
    for (int ov = 0; ov < kOverlaps; ++ov) classified += t.overlap[k][ov];
    if (classified) {
        std::printf("    by overlap:");
        for (int ov = 0; ov < kOverlaps; ++ov)
            if (ov != kOvExternal || t.overlap[k][ov])
                std::printf(" %s x%llu;", kOverlapNames[ov],
                            static_cast<unsigned long long>(t.overlap[k][ov]));
        std::printf("\n");
    }
    if (t.overlap[k][kOvNone]) {
        std::printf("    %s, earliest:\n", kOverlapNames[kOvNone]);
        print_examples(k, t.lone[k], "      ", t0);
    }
    print_contents(k, slots, nslots);
}

// The mode, the op counts and rate, and the watched blocks' reads.
void print_work(const Options& o, const Tree& tree, const Totals& t, double secs) {
    const size_t nblocks = static_cast<size_t>(tree.nblocks), nall = static_cast<size_t>(tree.nall);
    std::printf("mode: %s\n", o.fast ? "fast (a reader's malformed state/online/valid_zones is an "
                                       "anomaly, not a violation)"
                                     : "strict (every malformed read is a violation)");
    std::printf("ops: %llu of %llu done in %.3f s: %.0f ops/s\n",
                static_cast<unsigned long long>(t.ops), static_cast<unsigned long long>(o.ops),
                secs, secs > 0 ? static_cast<double>(t.ops) / secs : 0.0);
    std::printf(
        "  writer ops %llu (%llu stores accepted, %llu refused as predicted, %llu state "
        "changes); reader ops %llu; attribute reads %llu\n",
        static_cast<unsigned long long>(t.wops), static_cast<unsigned long long>(t.ok),
        static_cast<unsigned long long>(t.refused), static_cast<unsigned long long>(t.changes),
        static_cast<unsigned long long>(t.rops), static_cast<unsigned long long>(t.reads));
    if (nall > nblocks)
        std::printf(
            "watched: %llu reads of %zu blocks the writers do not own (%s): %llu well formed, "
            "%llu vanished (ENOENT: %llu at open, %llu at read)\n",
            static_cast<unsigned long long>(t.watched_reads), nall - nblocks,
            describe_watched(tree).c_str(), static_cast<unsigned long long>(t.watched_ok),
            static_cast<unsigned long long>(t.vanished_open + t.vanished_read),
            static_cast<unsigned long long>(t.vanished_open),
            static_cast<unsigned long long>(t.vanished_read));
}

}  // namespace

uint64_t print_summary(const Options& o, const Tree& tree, const Slot* slots, size_t nchildren,
                       uint64_t t0, uint64_t t1) {
    const size_t nslots = nchildren + 2;
    Totals t = add_up(o, slots, nchildren);
    print_work(o, tree, t, static_cast<double>(t1 - t0) / 1e9);
    uint64_t violations = 0, anomalies = 0;
    for (int k = 0; k < kKinds; ++k) (is_anomaly(k) ? anomalies : violations) += t.counts[k];
    std::printf("violations: %llu\n", static_cast<unsigned long long>(violations));
    for (int k = 0; k < kKinds; ++k)
        if (t.counts[k] && !is_anomaly(k)) print_kind(k, t, slots, nslots, t0);
    if (o.fast) {
        std::printf(
            "concurrent-write anomalies (fast mode: a reader overlapping a write of the same "
            "file): %llu\n",
            static_cast<unsigned long long>(anomalies));
        for (int k = 0; k < kKinds; ++k)
            if (t.counts[k] && is_anomaly(k)) print_kind(k, t, slots, nslots, t0);
    }
    std::fflush(stdout);
    return violations;
}

}  // namespace stress
