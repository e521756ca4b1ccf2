// Check 4: client processes read and write every block while the tool SIGKILLs random ones
// (and starts others in their place). Checked: nothing hangs (every killed client is gone
// within 10 s, the clients' progress never stands still for 10 s, all end when told), the
// daemon's open fds return to their count before the run, and each block's final state is the
// one its last successful write left.
//
// Who wrote last is well defined because a writer holds the block's lock (a robust mutex in
// shared memory) from before its open() until after its close(). A writer killed while holding
// it leaves its intended state in `inflight`: its write may or may not have happened, so the
// next locker (EOWNERDEAD) accepts either state until a write succeeds again. A killed write
// cannot take effect later than that: a process whose request the daemon has already read
// only dies once the daemon has answered it (the kernel's fuse request_wait_answer), and one
// still queued is withdrawn, so the owner's death, which releases the lock, comes after the
// write's effect, if it has one.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../bench_support.h"
#include "checks.h"
#include "processes.h"

namespace load {
namespace {

constexpr int kFirst = 72, kLast = 135;  // the built-in machine's hot-added blocks
constexpr int kBlocks = kLast - kFirst + 1;
constexpr int kMaxClients = 256;
constexpr uint64_t kStallNs = 10'000'000'000ull;

struct BlockRec {
    pthread_mutex_t mu;
    int last = 0;       // 0 offline, 1 online: what the last successful write left
    int maybe = 0;      // bit s: state s is possible too (a killed writer's write)
    int inflight = -1;  // the state the lock holder is writing, or -1
};

struct ClientSlot {
    std::atomic<uint64_t> ops{0};
    std::atomic<int> writing{-1};  // the block being written, or -1
};

struct ChurnShared {
    std::atomic<bool> stop{false};
    std::array<BlockRec, kBlocks> blocks;
    std::array<ClientSlot, kMaxClients> slots;
    std::atomic<uint64_t> reads{0}, bad_reads{0}, writes_ok{0}, writes_refused{0}, write_errors{0};
    std::atomic<uint64_t> owner_dead{0};  // locks taken over from a writer killed holding them
    std::atomic<bool> reported{false};
    char first_bad[256] = {};

    void report(const std::string& what) {
        if (!reported.exchange(true))
            std::snprintf(first_bad, sizeof first_bad, "%s", what.c_str());
    }
};

struct Store {
    const char* file;
    const char* text;
    int after;  // the state it leaves when it succeeds
};
constexpr Store kStores[] = {
    {"state", "online", 1},        {"state", "offline", 0}, {"state", "online_movable", 1},
    {"state", "online_kernel", 1}, {"online", "1", 1},      {"online", "0", 0},
};
constexpr const char* kReadFiles[] = {"state",      "online",    "valid_zones",
                                      "phys_index", "removable", "phys_device"};

void init_block(BlockRec& b, int state) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&b.mu, &a);
    pthread_mutexattr_destroy(&a);
    b.last = state;
}

// Locks a block; a previous holder that died mid-write leaves its state possible.
bool lock_block(BlockRec& b, bool wait, std::atomic<uint64_t>& owner_dead) {
    const int r = wait ? pthread_mutex_lock(&b.mu) : pthread_mutex_trylock(&b.mu);
    if (r == EOWNERDEAD) {
        owner_dead.fetch_add(1);
        if (b.inflight >= 0) b.maybe |= 1 << b.inflight;
        b.inflight = -1;
        pthread_mutex_consistent(&b.mu);
        return true;
    }
    return r == 0;
}

bool well_formed(const char* file, const std::string& text) {
    if (std::strcmp(file, "state") == 0)
        return text == "online\n" || text == "offline\n" || text == "going-offline\n";
    if (std::strcmp(file, "online") == 0) return text == "0\n" || text == "1\n";
    return !text.empty() && text.back() == '\n';
}

int run_client(ChurnShared& sh, ClientSlot& slot, const std::vector<int>& all_blocks, uint64_t seed,
               int memfd) {
    std::mt19937_64 rng(seed);
    char buf[4096];
    while (!sh.stop) {
        if (rng() % 2) {
            const int b = all_blocks[rng() % all_blocks.size()];
            const char* file = kReadFiles[rng() % std::size(kReadFiles)];
            const std::string rel = "memory" + std::to_string(b) + "/" + file;
            const long n = bench::read_at(memfd, rel.c_str(), buf, sizeof buf);
            sh.reads.fetch_add(1, std::memory_order_relaxed);
            if (n < 0 ||
                !well_formed(file, std::string(buf, static_cast<size_t>(std::max(n, 0L))))) {
                sh.bad_reads.fetch_add(1);
                sh.report(rel +
                          (n < 0 ? std::string(": ") + std::strerror(static_cast<int>(-n))
                                 : ": read \"" + std::string(buf, static_cast<size_t>(n)) + "\""));
            }
        } else {
            const int b = kFirst + static_cast<int>(rng() % kBlocks);
            const Store& s = kStores[rng() % std::size(kStores)];
            const std::string rel = "memory" + std::to_string(b) + "/" + s.file;
            BlockRec& rec = sh.blocks[b - kFirst];
            lock_block(rec, true, sh.owner_dead);
            rec.inflight = s.after;
            slot.writing = b;
            const long n = bench::write_at(memfd, rel.c_str(), s.text, O_WRONLY);
            if (n == static_cast<long>(std::strlen(s.text))) {
                rec.last = s.after;
                rec.maybe = 0;
                sh.writes_ok.fetch_add(1, std::memory_order_relaxed);
            } else if (n == -EINVAL && std::strcmp(s.file, "state") == 0) {
                sh.writes_refused.fetch_add(1, std::memory_order_relaxed);  // already there
            } else {
                sh.write_errors.fetch_add(1);
                sh.report(rel + " <- " + s.text + ": " +
                          (n < 0 ? std::strerror(static_cast<int>(-n)) : "short write"));
            }
            rec.inflight = -1;
            slot.writing = -1;
            pthread_mutex_unlock(&rec.mu);
        }
        slot.ops.fetch_add(1, std::memory_order_relaxed);
    }
    return 0;
}

int read_state(int memfd, int b) {
    char buf[64];
    const std::string rel = "memory" + std::to_string(b) + "/state";
    const long n = bench::read_at(memfd, rel.c_str(), buf, sizeof buf);
    if (n == 7 && std::memcmp(buf, "online\n", 7) == 0) return 1;
    if (n == 8 && std::memcmp(buf, "offline\n", 8) == 0) return 0;
    return -1;
}

}  // namespace

Verdict check_kill_churn(const Options& o, const std::string& dir) {
    const int nclients = std::min(o.churn_clients, kMaxClients);
    Verdict v("4. " + std::to_string(nclients) + " clients reading and writing every block for " +
              std::to_string(static_cast<int>(o.churn_seconds)) + " s, one SIGKILLed every " +
              std::to_string(static_cast<int>(o.kill_every_ms)) + " ms");
    bench::Daemon d(o.daemon, dir, "churn");
    d.start(std::nullopt, {});
    const int memfd = bench::open_dir(d.mem());
    std::vector<int> all_blocks;
    for (uint64_t b : bench::list_blocks(memfd)) all_blocks.push_back(static_cast<int>(b));
    Shared<ChurnShared> sh;
    for (int b = kFirst; b <= kLast; ++b) {
        const int s = read_state(memfd, b);
        if (s < 0) throw bench::Error("memory" + std::to_string(b) + "/state unreadable");
        init_block(sh->blocks[b - kFirst], s);
    }
    const long fds_before = fd_count(d.pid());
    const long rss_before = bench::rss_kib(d.pid());

    std::mt19937_64 rng(12345);
    uint64_t seed = 1;
    std::vector<std::unique_ptr<Client>> clients(static_cast<size_t>(nclients));
    auto spawn = [&](int i) {
        sh->slots[i].writing = -1;
        const uint64_t s = seed++;
        clients[i] = std::make_unique<Client>(
            [&, i, s] { return run_client(*sh, sh->slots[i], all_blocks, s, memfd); });
    };
    for (int i = 0; i < nclients; ++i) spawn(i);

    uint64_t kills = 0, kills_mid_write = 0, slow_deaths = 0, client_failures = 0;
    long fds_peak = fds_before;
    bool hung = false;
    std::string hang_why;
    auto progress = [&] {
        uint64_t n = 0;
        for (int i = 0; i < nclients; ++i) n += sh->slots[i].ops;
        return n;
    };
    const uint64_t t0 = bench::now_ns();
    const uint64_t end = t0 + static_cast<uint64_t>(o.churn_seconds * 1e9);
    uint64_t last_progress = 0, last_progress_ns = t0;
    while (bench::now_ns() < end && !hung) {
        bench::check_interrupted();
        usleep(static_cast<useconds_t>(o.kill_every_ms * 1000));
        const int i = static_cast<int>(rng() % static_cast<uint64_t>(nclients));
        if (sh->slots[i].writing >= 0) ++kills_mid_write;
        clients[i]->kill_now();
        ++kills;
        const uint64_t k0 = bench::now_ns();
        if (!clients[i]->wait(10)) {
            hung = true;
            hang_why = "a SIGKILLed client was still there 10 s later";
            break;
        }
        if (bench::now_ns() - k0 > 1'000'000'000ull) ++slow_deaths;
        spawn(i);
        fds_peak = std::max(fds_peak, fd_count(d.pid()));
        const uint64_t p = progress(), now = bench::now_ns();
        if (p != last_progress) {
            last_progress = p;
            last_progress_ns = now;
        } else if (now - last_progress_ns > kStallNs) {
            hung = true;
            hang_why = "no client made progress for 10 s";
        }
    }
    // The end: half the clients SIGKILLed at once, wherever they are, the others told to stop,
    // so that some blocks end with their last writer killed mid-write.
    for (int i = 0; i < nclients && !hung; i += 2) {
        if (sh->slots[i].writing >= 0) ++kills_mid_write;
        clients[i]->kill_now();
        ++kills;
    }
    sh->stop = true;
    for (int i = 0; i < nclients && !hung; ++i) {
        if (i % 2 == 0) {
            if (!clients[i]->wait(10)) {
                hung = true;
                hang_why = "a SIGKILLed client was still there 10 s later";
            }
            continue;
        }
        if (!clients[i]->wait(15)) {
            hung = true;
            hang_why = "a client did not stop within 15 s of being told";
        } else if (!exited_ok(clients[i]->status())) {
            ++client_failures;
        }
    }
    const double secs = static_cast<double>(bench::now_ns() - t0) / 1e9;
    if (hung) {
        v.fail("hang: " + hang_why + " (the daemon is stopped to release the clients)");
        close(memfd);
        d.stop(5);
        clients.clear();
        return v;
    }
    clients.clear();

    // The blocks, once everyone is gone: a writer killed holding a lock leaves its state possible.
    int wrong = 0, ambiguous = 0, resolved_to_killed = 0;
    std::string wrong_list;
    for (int b = kFirst; b <= kLast; ++b) {
        BlockRec& rec = sh->blocks[b - kFirst];
        lock_block(rec, false, sh->owner_dead);
        const int got = read_state(memfd, b);
        const int accepted = (1 << rec.last) | rec.maybe;
        if (rec.maybe & ~(1 << rec.last)) {
            ++ambiguous;
            if (got >= 0 && got != rec.last) ++resolved_to_killed;
        }
        if (got < 0 || !(accepted & (1 << got))) {
            if (++wrong <= 5)
                wrong_list += " memory" + std::to_string(b) + " is " +
                              (got < 0 ? "unreadable"
                               : got   ? "online"
                                       : "offline") +
                              ", last written " + (rec.last ? "online" : "offline") + ";";
        }
        pthread_mutex_unlock(&rec.mu);
    }
    close(memfd);
    const long fds_after = settle_fd_count(d.pid(), fds_before, 5);
    const long rss_after = bench::rss_kib(d.pid());

    v.info(std::to_string(sh->reads.load()) + " reads, " + std::to_string(sh->writes_ok.load()) +
           " successful writes, " + std::to_string(sh->writes_refused.load()) +
           " refused (EINVAL: already in that state) in " + std::to_string(secs).substr(0, 5) +
           " s; " + std::to_string(kills) + " SIGKILLs, " + std::to_string(kills_mid_write) +
           " of them mid-write (half the clients at the end), " + std::to_string(slow_deaths) +
           " took over 1 s to die; " + std::to_string(sh->owner_dead.load()) +
           " block locks taken over from a killed writer");
    v.info("daemon RSS " + mib(rss_before) + " -> " + mib(rss_after) + "; fds peak " +
           std::to_string(fds_peak));
    v.bound(
        "no hang: every killed client gone within 10 s, progress never stalled 10 s, all "
        "stopped when told",
        "no hang", true);
    v.bound("daemon fds " + std::to_string(fds_before) + " before, " + std::to_string(fds_after) +
                " after",
            "back to " + std::to_string(fds_before) + " within 5 s", fds_after == fds_before);
    v.bound("final states: " + std::to_string(wrong) + " of " + std::to_string(kBlocks) +
                " blocks differ from the last successful write (" + std::to_string(ambiguous) +
                " had a killed writer's write pending, " + std::to_string(resolved_to_killed) +
                " of those show it)" + wrong_list,
            "0 differ", wrong == 0);
    const uint64_t bad = sh->bad_reads + sh->write_errors;
    v.bound(std::to_string(sh->bad_reads.load()) + " failed or malformed reads, " +
                std::to_string(sh->write_errors.load()) + " unexpected write errors" +
                (bad ? std::string(", first: ") + sh->first_bad : ""),
            "0", bad == 0);
    if (client_failures) v.fail(std::to_string(client_failures) + " clients exited with failure");
    if (!d.running() || bench::rss_kib(d.pid()) < 0) v.fail("the daemon died");
    d.stop();
    return v;
}

}  // namespace load
