// Check 3: a client that subscribes to every signal on the daemon's private socket and never
// reads it, while blocks are onlined and offlined in a loop (one Uevent signal per change).
// Two phases of the same load: A without that client, B with it. In both a well-behaved
// subscriber counts the signals, and a reader times open+read+close of memoryN/state.
// The reader's p50/p99 in B must stay near A's, the daemon's RSS must stay bounded in B, and
// the well-behaved subscriber must get every signal of both phases.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../bench_support.h"
#include "bus_client.h"
#include "checks.h"
#include "processes.h"

namespace load {
namespace {

// RSS: what a slow peer may cost the daemon is its queue of unsent signals (the daemon
// disconnects a peer with more than 4096 queued: about 4 MiB of Uevent messages), plus
// allocator slack; 16 MiB leaves room for both and catches an unbounded queue within seconds.
constexpr long kRssBoundKib = 16 * 1024;
// Latency: the phases run back to back on a shared machine, so B may be noisier than A for
// reasons of its own; B's p50 within 1.5× A's + 20 µs and p99 within 2× A's + 500 µs.
constexpr double kP50Factor = 1.5, kP50SlackUs = 20, kP99Factor = 2.0, kP99SlackUs = 500;

struct SubscriberShared {
    std::atomic<uint64_t> uevents{0};  // Uevent signals the well-behaved subscriber got
    std::atomic<bool> good_ready{false}, slow_ready{false};
};

int ignore(sd_bus_message*, void*, sd_bus_error*) {
    return 0;
}

void subscribe_all(sd_bus* bus) {
    // AddMatch with an empty rule matches everything the daemon sends.
    if (int r = sd_bus_add_match(bus, nullptr, "", ignore, nullptr); r < 0)
        throw std::runtime_error(std::string("AddMatch: ") + std::strerror(-r));
}

int count_uevents(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* sh = static_cast<SubscriberShared*>(userdata);
    if (sd_bus_message_is_signal(m, kManagerInterface, "Uevent") > 0) {
        uint64_t seqnum = 0;
        const char* action = nullptr;
        if (sd_bus_message_read(m, "ts", &seqnum, &action) >= 0 &&
            (std::strcmp(action, "online") == 0 || std::strcmp(action, "offline") == 0))
            sh->uevents.fetch_add(1);
    }
    return 0;
}

int run_good_subscriber(const std::string& address, SubscriberShared& sh) {
    BusConnection bus(address);
    sd_bus_slot* slot = nullptr;
    if (int r = sd_bus_add_filter(bus.get(), &slot, count_uevents, &sh); r < 0)
        throw std::runtime_error(std::string("filter: ") + std::strerror(-r));
    subscribe_all(bus.get());
    sh.good_ready = true;
    for (;;) {
        const int r = sd_bus_process(bus.get(), nullptr);
        if (r < 0) throw std::runtime_error(std::string("process: ") + std::strerror(-r));
        if (r == 0) sd_bus_wait(bus.get(), UINT64_MAX);
    }
}

int run_slow_subscriber(const std::string& address, SubscriberShared& sh) {
    BusConnection bus(address);
    subscribe_all(bus.get());
    sh.slow_ready = true;
    for (;;) pause();  // never reads again
}

bool wait_flag(const std::atomic<bool>& flag, Client& c, double seconds) {
    const uint64_t deadline = bench::now_ns() + static_cast<uint64_t>(seconds * 1e9);
    while (!flag && bench::now_ns() < deadline && !c.wait(0)) usleep(5000);
    return flag;
}

// Onlines and offlines blocks 72-135 through `state` until stopped; counts the changes.
class Toggler {
  public:
    explicit Toggler(const std::string& mem) : mem_(mem), thread_([this] { run(); }) {}
    ~Toggler() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    uint64_t changes() const { return changes_; }
    uint64_t failures() const { return failures_; }

  private:
    void run() {
        const int dirfd = bench::open_dir(mem_);
        bool online = true;
        while (!stop_) {
            for (int b = 72; b <= 135 && !stop_; ++b) {
                const std::string rel = "memory" + std::to_string(b) + "/state";
                const char* text = online ? "online" : "offline";
                if (bench::write_at(dirfd, rel.c_str(), text, O_WRONLY) ==
                    static_cast<long>(std::strlen(text)))
                    ++changes_;
                else
                    ++failures_;
            }
            online = !online;
        }
        // Leave every block offline, as found (the offline ones answer EINVAL).
        for (int b = 72; b <= 135; ++b) {
            const std::string rel = "memory" + std::to_string(b) + "/state";
            if (bench::write_at(dirfd, rel.c_str(), "offline", O_WRONLY) == 7) ++changes_;
        }
        close(dirfd);
    }

    std::string mem_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> changes_{0}, failures_{0};
    std::thread thread_;
};

// Times open+read+close of memoryN/state over every block for `seconds`.
std::vector<double> time_reads(const std::string& mem, double seconds, uint64_t& errors) {
    const int dirfd = bench::open_dir(mem);
    std::vector<std::string> files;
    for (uint64_t b : bench::list_blocks(dirfd))
        files.push_back("memory" + std::to_string(b) + "/state");
    std::vector<double> us;
    us.reserve(200000);
    char buf[4096];
    const uint64_t end = bench::now_ns() + static_cast<uint64_t>(seconds * 1e9);
    for (size_t i = 0; bench::now_ns() < end; ++i) {
        const uint64_t t0 = bench::now_ns();
        const long n = bench::read_at(dirfd, files[i % files.size()].c_str(), buf, sizeof buf);
        us.push_back(static_cast<double>(bench::now_ns() - t0) / 1e3);
        if (n <= 0) ++errors;
        if ((i & 0xff) == 0) bench::check_interrupted();
    }
    close(dirfd);
    return us;
}

// Samples the daemon's RSS every 50 ms; keeps the peak.
class RssSampler {
  public:
    explicit RssSampler(pid_t pid) : pid_(pid), thread_([this] { run(); }) {}
    ~RssSampler() { stop(); }
    long stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        return peak_;
    }

  private:
    void run() {
        while (!stop_) {
            peak_ = std::max(peak_.load(), bench::rss_kib(pid_));
            usleep(50000);
        }
    }
    pid_t pid_;
    std::atomic<bool> stop_{false};
    std::atomic<long> peak_{0};
    std::thread thread_;
};

}  // namespace

Verdict check_slow_subscriber(const Options& o, const std::string& dir) {
    Verdict v("3. a signal subscriber that never reads, blocks changing for 2 × " +
              std::to_string(o.subscriber_seconds).substr(0, 4) + " s");
    bench::Daemon d(o.daemon, dir, "subscriber");
    d.start(std::nullopt, {});
    const std::string address = "unix:path=" + d.root() + "/bus";
    Shared<SubscriberShared> sh;
    Client good([&] { return run_good_subscriber(address, *sh); });
    if (!wait_flag(sh->good_ready, good, 10)) {
        v.fail("the well-behaved subscriber did not subscribe");
        return v;
    }
    const long fds_start = fd_count(d.pid());
    Toggler toggler(d.mem());
    uint64_t errors_a = 0, errors_b = 0;
    const bench::Summary a = bench::summarize(time_reads(d.mem(), o.subscriber_seconds, errors_a));
    const uint64_t changes_a = toggler.changes();

    const long before = bench::rss_kib(d.pid());
    RssSampler sampler(d.pid());
    Client slow([&] { return run_slow_subscriber(address, *sh); });
    if (!wait_flag(sh->slow_ready, slow, 10)) v.fail("the slow subscriber did not subscribe");
    const bench::Summary b = bench::summarize(time_reads(d.mem(), o.subscriber_seconds, errors_b));
    toggler.stop();
    const long peak = sampler.stop();
    const long after = bench::rss_kib(d.pid());
    const uint64_t changes = toggler.changes();

    // The well-behaved subscriber must have had every change of both phases.
    const uint64_t deadline = bench::now_ns() + 20'000'000'000ull;
    while (sh->uevents < changes && bench::now_ns() < deadline && !good.wait(0)) usleep(10000);
    const uint64_t got = sh->uevents;
    const long fds_with_slow = fd_count(d.pid());
    slow.kill_now();
    slow.wait(5);

    v.info("A (without it): " + std::to_string(a.n) + " reads, p50 " + usec(a.p50) + ", p99 " +
           usec(a.p99) + "; " + std::to_string(changes_a) + " block changes");
    v.info("B (with it):    " + std::to_string(b.n) + " reads, p50 " + usec(b.p50) + ", p99 " +
           usec(b.p99) + "; " + std::to_string(changes - changes_a) + " block changes");
    const double p50_limit = a.p50 * kP50Factor + kP50SlackUs;
    const double p99_limit = a.p99 * kP99Factor + kP99SlackUs;
    if (o.latency_bounds) {
        v.bound("read p50 B " + usec(b.p50), "<= 1.5 × A + 20 µs = " + usec(p50_limit),
                b.p50 <= p50_limit);
        v.bound("read p99 B " + usec(b.p99), "<= 2 × A + 500 µs = " + usec(p99_limit),
                b.p99 <= p99_limit);
    } else {
        v.info("read p50/p99 B within 1.5 × A + 20 µs / 2 × A + 500 µs: " +
               std::string(b.p50 <= p50_limit && b.p99 <= p99_limit ? "yes" : "no") +
               " (reported only with --reduced)");
    }
    const long bound = kRssBoundKib + o.rss_slack_kib;
    v.bound("RSS " + mib(before) + " before B, peak " + mib(peak) + ", end " + mib(after) +
                ": peak - before " + kib_delta(peak - before),
            "<= " + mib(bound), peak - before <= bound);
    v.bound("well-behaved subscriber got " + std::to_string(got) + " of " +
                std::to_string(changes) + " online/offline Uevent signals",
            "all", got == changes);
    v.info("daemon fds: " + std::to_string(fds_start) + " with one subscriber, " +
           std::to_string(fds_with_slow) + " at the end of B: the slow one is " +
           (fds_with_slow > fds_start
                ? "still connected (the daemon disconnects a peer past 8192 unsent messages)"
                : "disconnected"));
    if (errors_a + errors_b) v.fail(std::to_string(errors_a + errors_b) + " reads failed");
    if (toggler.failures()) v.fail(std::to_string(toggler.failures()) + " state writes failed");
    if (!d.running() || bench::rss_kib(d.pid()) < 0) v.fail("the daemon died");
    good.kill_now();
    good.wait(5);
    d.stop();
    return v;
}

}  // namespace load
