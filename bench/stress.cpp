// hotplugfs-stress: a multi-process consistency stress test for a hotplugfs mount (or any
// memory-hotplug sysfs root).
//
// Writers (one process each) own disjoint sets of memory blocks, change their state through
// `state` and `online` exactly as echo/printf would, predict every result from the state they
// expect (spec §4) and check read-your-writes right after each successful change. Readers (one
// process each) read random attributes and check every result is well formed. At the end the
// parent checks every block against what its owner last expected, and that every valid_zones, node
// mask and meminfo is well formed. Exit status 1 on any violation.
//
// --mode strict (the default) holds the mount to kernel semantics: every malformed read is a
// violation (a daemon in its default, exact mode). --mode fast is for a daemon started with
// --fast (the page-cache mode), where a reader of a block's state, online or valid_zones that
// overlaps a store to that block may see the store's bytes merged into the old content or old
// bytes cut to a new length: such reads by reader processes are counted and reported as
// concurrent-write anomalies, not violations. Everything
// else stays a violation in both modes: store results, read-your-writes, node masks, meminfo,
// read errors and the quiescent check at the end. `--mode exact` is another name for strict.
//
// --watch B-E and --may-vanish B-E add blocks that something other than the writers changes
// (D-Bus calls, udev rules, memory devices plugged and unplugged): readers read their state,
// online and valid_zones too, and every read must be well formed, as for the owned blocks; no
// state is expected of them and the final check skips them. A --may-vanish block may be absent
// or vanish at any time: ENOENT from the open or the read of its files is counted as a vanished
// read, not a violation.
#include <cstdio>
#include <exception>

#include "stress/options.h"
#include "stress/run.h"

// The parts, one job each, under bench/stress/: options (command line), tree (the paths, found
// at start), stores (the store table and its predictions), writer and reader (the two worker
// kinds), well_formed (what counts as a wrong answer), final_check (the quiescent check),
// children (fork, watchdog, reaping), findings and shared (what is found, in shared memory),
// report (the summary) and run (the order of the phases).
int main(int argc, char** argv) {
    try {
        return stress::run(stress::parse_options(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotplugfs-stress: %s\n", e.what());
        return 2;
    }
}
