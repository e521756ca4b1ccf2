// Check 2: method calls from many client processes over a dbus-daemon must all be answered,
// and must not grow the daemon. The clients are sd-bus programs forked by the tool, one
// connection each, calling synchronously: about 0.1 ms a call, where busctl would cost a
// process, a connection and a Hello per call (several ms: 10^5 calls would take minutes).
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../bench_support.h"
#include "bus_client.h"
#include "checks.h"
#include "private_bus.h"
#include "processes.h"

namespace load {
namespace {

// A leak of 10 bytes per call is 1 MB over 10^5 calls; the allocator's caches of freed
// message buffers (one arena per daemon thread that handles calls) are a few hundred KiB.
constexpr long kBoundKib = 1024;
constexpr int kMaxCallers = 64;

struct CallerSlot {
    std::atomic<uint64_t> answered{0}, failed{0};
    std::atomic<bool> warm{false};
    char first_error[256] = {};
};

struct CallShared {
    std::atomic<bool> go{false};
    std::array<CallerSlot, kMaxCallers> slots;
};

// One call of the mix: every 8th changes the caller's own block (Online, then Offline), one in
// 8 is GetState (the whole machine as JSON), the others read properties, and the block's
// State must say what the caller last did to it.
class Caller {
  public:
    Caller(sd_bus* bus, CallerSlot& slot, int block)
        : bus_(bus),
          slot_(slot),
          block_(block),
          block_path_(std::string(kManagerPath) + "/block/memory" + std::to_string(block)) {}

    void call(uint64_t i) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        int r = 0;
        std::string wrong;
        switch (i % 8) {
            case 0:
                r = online_
                        ? sd_bus_call_method(bus_, kBusName, kManagerPath, kManagerInterface,
                                             "Offline", &err, &reply, "t", uint64_t(block_))
                        : sd_bus_call_method(bus_, kBusName, kManagerPath, kManagerInterface,
                                             "Online", &err, &reply, "ts", uint64_t(block_), "");
                if (r >= 0) online_ = !online_;
                break;
            case 1:
                r = sd_bus_call_method(bus_, kBusName, kManagerPath, kManagerInterface, "GetState",
                                       &err, &reply, "");
                break;
            case 2:
            case 5: {
                char* state = nullptr;
                r = sd_bus_get_property_string(bus_, kBusName, block_path_.c_str(), kBlockInterface,
                                               "State", &err, &state);
                if (r >= 0 && std::strcmp(state, online_ ? "online" : "offline") != 0)
                    wrong =
                        std::string("State of memory") + std::to_string(block_) + " is " + state;
                free(state);
                break;
            }
            case 3:
            case 6: {
                uint64_t size = 0;
                r = sd_bus_get_property_trivial(bus_, kBusName, kManagerPath, kManagerInterface,
                                                "BlockSize", &err, 't', &size);
                if (r >= 0 && size != (128u << 20)) wrong = "BlockSize " + std::to_string(size);
                break;
            }
            default: {
                char* value = nullptr;
                r = sd_bus_get_property_string(bus_, kBusName, kManagerPath, kManagerInterface,
                                               "AutoOnlineBlocks", &err, &value);
                free(value);
                break;
            }
        }
        if (r < 0 && wrong.empty())
            wrong = std::string(err.name ? err.name : "") + ": " +
                    (err.message ? err.message : std::strerror(-r));
        sd_bus_message_unref(reply);
        sd_bus_error_free(&err);
        if (wrong.empty()) {
            slot_.answered.fetch_add(1, std::memory_order_relaxed);
        } else if (slot_.failed.fetch_add(1) == 0) {
            std::snprintf(slot_.first_error, sizeof slot_.first_error, "call %llu: %s",
                          static_cast<unsigned long long>(i), wrong.c_str());
        }
    }

    bool online() const { return online_; }

  private:
    sd_bus* bus_;
    CallerSlot& slot_;
    int block_;
    std::string block_path_;
    bool online_ = false;  // blocks 72-135 start offline in the built-in machine
};

int run_caller(const std::string& address, CallShared& sh, int c, uint64_t warmup, uint64_t n) {
    BusConnection bus(address);
    Caller caller(bus.get(), sh.slots[c], 72 + c);
    uint64_t i = 0;
    for (; i < warmup; ++i) caller.call(i);
    sh.slots[c].warm = true;
    while (!sh.go) usleep(1000);
    for (; i < warmup + n; ++i) caller.call(i);
    // End with the block offline again, as it was found (not counted).
    if (caller.online())
        sd_bus_call_method(bus.get(), kBusName, kManagerPath, kManagerInterface, "Offline", nullptr,
                           nullptr, "t", uint64_t(72 + c));
    return 0;
}

}  // namespace

Verdict check_dbus_calls(const Options& o, const std::string& dir) {
    const int callers = std::min(o.callers, kMaxCallers);
    Verdict v("2. " + std::to_string(o.calls) + " D-Bus method calls from " +
              std::to_string(callers) + " client processes over a private dbus-daemon");
    PrivateBus bus(dir);
    bench::Daemon d(o.daemon, dir, "dbus");
    d.start(std::nullopt, {"--bus", bus.address()});
    Shared<CallShared> sh;
    const uint64_t per = o.calls / static_cast<uint64_t>(callers);
    const uint64_t warmup = std::max<uint64_t>(per / 10, 8);
    std::vector<std::unique_ptr<Client>> clients;
    for (int c = 0; c < callers; ++c)
        clients.push_back(std::make_unique<Client>(
            [&, c] { return run_caller(bus.address(), *sh, c, warmup, per); }));
    auto all_warm = [&] {
        for (int c = 0; c < callers; ++c)
            if (!sh->slots[c].warm && !clients[c]->wait(0)) return false;
        return true;
    };
    const uint64_t deadline = bench::now_ns() + 120'000'000'000ull;
    while (!all_warm() && bench::now_ns() < deadline) usleep(10000);
    const long before = bench::rss_kib(d.pid());
    const long fds_before = fd_count(d.pid());
    const uint64_t t0 = bench::now_ns();
    sh->go = true;
    // Watchdog: a client that has not finished 10 minutes in is stuck.
    bool hung = false;
    for (auto& cl : clients)
        if (!cl->wait(600)) hung = true;
    const double secs = static_cast<double>(bench::now_ns() - t0) / 1e9;
    const long after = bench::rss_kib(d.pid());
    uint64_t answered = 0, failed = 0;
    std::string first_error;
    for (int c = 0; c < callers; ++c) {
        answered += sh->slots[c].answered;
        failed += sh->slots[c].failed;
        if (first_error.empty() && sh->slots[c].first_error[0])
            first_error = sh->slots[c].first_error;
        if (clients[c]->reaped() && !exited_ok(clients[c]->status()))
            v.fail("client " + std::to_string(c) + " ended with " +
                   bench::describe_status(clients[c]->status()));
    }
    const uint64_t want = (warmup + per) * static_cast<uint64_t>(callers);
    v.info(std::to_string(per * static_cast<uint64_t>(callers)) + " measured calls (after " +
           std::to_string(warmup * static_cast<uint64_t>(callers)) + " warm-up calls) in " +
           std::to_string(secs).substr(0, 5) + " s, " +
           std::to_string(static_cast<long>(static_cast<double>(per * callers) / secs)) +
           " calls/s; daemon fds " + std::to_string(fds_before) + " -> " +
           std::to_string(fd_count(d.pid())));
    if (hung) v.fail("a client did not finish within 600 s (hang)");
    v.bound("answered " + std::to_string(answered) + " of " + std::to_string(want) +
                ", failed or wrong " + std::to_string(failed),
            "all answered, none wrong", answered == want && failed == 0);
    if (!first_error.empty()) v.info("first failure: " + first_error);
    v.bound("RSS " + mib(before) + " -> " + mib(after) + ", after - before " +
                kib_delta(after - before),
            "<= " + mib(kBoundKib + o.rss_slack_kib),
            after - before <= kBoundKib + o.rss_slack_kib);
    if (!d.running() || bench::rss_kib(d.pid()) < 0) v.fail("the daemon died");
    clients.clear();
    d.stop();
    return v;
}

}  // namespace load
