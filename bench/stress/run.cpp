// The phases of one run (run.h).
#include "run.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "children.h"
#include "clock.h"
#include "final_check.h"
#include "reader.h"
#include "report.h"
#include "rng.h"
#include "shared.h"
#include "tree.h"
#include "writer.h"

namespace stress {
namespace {

void print_banner(const Options& o, const Tree& t, uint64_t seed) {
    std::printf(
        "hotplugfs-stress: root %s, blocks %d-%d, %d writers, %d readers, %llu ops, "
        "seed %llu, mode %s\n",
        o.root.c_str(), o.first_block, o.last_block, o.writers, o.readers,
        static_cast<unsigned long long>(o.ops), static_cast<unsigned long long>(seed),
        o.fast ? "fast" : "strict");
    if (t.nall > t.nblocks)
        std::printf("hotplugfs-stress: readers also watch blocks %s (* may vanish)\n",
                    describe_watched(t).c_str());
    std::fflush(stdout);
    std::fflush(stderr);
}

// Child `c`: writers first, then readers; every child gets ops / n, the first ops % n one more.
pid_t spawn_worker(const Options& o, const Tree& t, Shared& sh, uint64_t seed, size_t nchildren,
                   size_t c, Child& ch) {
    ch.writer = c < static_cast<size_t>(o.writers);
    ch.index = ch.writer ? static_cast<int>(c) : static_cast<int>(c) - o.writers;
    const uint64_t my_ops = o.ops / nchildren + (c < o.ops % nchildren ? 1 : 0);
    const uint64_t my_seed = mix64(seed + 0x1000 * (c + 1));
    return spawn(sh.slots[c], [&, c] {
        if (ch.writer)
            run_writer(ch.index, o.writers, my_ops, my_seed, t, sh.slots[c], sh.expected, sh.seqs);
        else
            run_reader(ch.index, my_ops, my_seed, t, sh.slots[c], sh.seqs, o.writers, o.fast);
    });
}

uint64_t ops_done(const Shared& sh, size_t nchildren) {
    uint64_t n = 0;
    for (size_t c = 0; c < nchildren; ++c) n += sh.slots[c].ops.load();
    return n;
}

// Forks the writers and readers and waits for them. False when a fork failed or a child did not
// end well.
bool run_children(const Options& o, const Tree& t, Shared& sh, uint64_t seed, size_t nchildren,
                  Slot& parent_slot) {
    std::vector<Child> children(nchildren);
    const uint64_t t0 = now_ns();
    bool fork_failed = false;
    for (size_t c = 0; c < nchildren && !fork_failed; ++c) {
        children[c].pid = spawn_worker(o, t, sh, seed, nchildren, c, children[c]);
        if (children[c].pid < 0) {
            record(parent_slot, kChild, -1, "-", "", std::string("fork: ") + std::strerror(errno));
            fork_failed = true;
        }
    }
    const bool workers_ok = wait_all(
        children, [&] { return ops_done(sh, nchildren); }, o, t0, parent_slot);
    for (size_t c = 0; c < nchildren; ++c) {
        const Child& ch = children[c];
        report_exit(ch, sh.slots[c],
                    std::string(ch.writer ? "writer " : "reader ") + std::to_string(ch.index),
                    parent_slot);
    }
    return workers_ok && !fork_failed;
}

// The quiescent check, in a child too, so a hung mount cannot hang this process.
void run_final_check(const Options& o, const Tree& t, Shared& sh, Slot& check_slot,
                     Slot& parent_slot) {
    std::vector<Child> checker(1);
    checker[0].pid = spawn(check_slot, [&] { final_check(o, t, sh.expected, check_slot); });
    if (checker[0].pid < 0) {
        record(parent_slot, kChild, -1, "-", "", std::string("fork: ") + std::strerror(errno));
        return;
    }
    wait_all(
        checker, [&] { return check_slot.ops.load(); }, o, now_ns(), parent_slot);
    report_exit(checker[0], check_slot, "final check", parent_slot);
}

}  // namespace

int run(const Options& o) {
    Tree t;
    if (!build_tree(o, t)) return 2;
    const size_t nchildren = static_cast<size_t>(o.writers + o.readers);
    Shared sh;
    if (!sh.map(static_cast<size_t>(t.nblocks), static_cast<size_t>(t.nall), nchildren + 2)) {
        std::perror("hotplugfs-stress: mmap");
        return 2;
    }
    Slot& parent_slot = sh.slots[nchildren];
    Slot& check_slot = sh.slots[nchildren + 1];
    if (!initial_states(t, sh.expected)) return 2;
    const uint64_t seed = o.seed_set ? o.seed : mix64(now_ns() ^ static_cast<uint64_t>(getpid()));
    print_banner(o, t, seed);

    const uint64_t t0 = now_ns();
    const bool children_ok = run_children(o, t, sh, seed, nchildren, parent_slot);
    const uint64_t t1 = now_ns();
    if (children_ok)
        run_final_check(o, t, sh, check_slot, parent_slot);
    else
        record(parent_slot, kChild, -1, "-", "", "final check skipped: not every child ended");
    if (const uint64_t done = ops_done(sh, nchildren); done != o.ops)
        record(parent_slot, kChild, -1, "-", "",
               std::string("only ") + std::to_string(done) + " of " + std::to_string(o.ops) +
                   " ops done");
    return print_summary(o, t, sh.slots, nchildren, t0, t1) ? 1 : 0;
}

}  // namespace stress
