// WorkQueue: jobs run in order on one thread; stop() ends it after the running job and hands
// back the rest.
#include <catch2/catch.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "support/work_queue.h"

using hotplugfs::WorkQueue;

TEST_CASE("WorkQueue runs jobs in order on its own thread") {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<int> seen;
    std::atomic<pid_t> ran_on{0};
    WorkQueue<int> q([&](int& job) {
        ran_on = static_cast<pid_t>(syscall(SYS_gettid));
        std::lock_guard lock(mu);
        seen.push_back(job);
        cv.notify_all();
    });
    CHECK(q.tid() == 0);
    q.start();
    CHECK(q.tid() != 0);
    CHECK(q.tid() != static_cast<pid_t>(syscall(SYS_gettid)));
    for (int i = 0; i < 100; ++i) CHECK(q.push(i));
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() == 100; }));
    for (int i = 0; i < 100; ++i) CHECK(seen[i] == i);
    CHECK(ran_on == q.tid());
}

TEST_CASE("WorkQueue::stop ends after the running job and hands back the queued ones") {
    std::mutex mu;
    std::condition_variable cv;
    bool running = false, release = false;
    std::vector<int> seen;
    WorkQueue<int> q([&](int& job) {
        std::unique_lock lock(mu);
        seen.push_back(job);
        running = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
    });
    q.start();
    REQUIRE(q.push(1));
    {
        std::unique_lock lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return running; }));
    }
    REQUIRE(q.push(2));
    REQUIRE(q.push(3));
    q.stop();
    CHECK_FALSE(q.push(4));
    {
        std::lock_guard lock(mu);
        release = true;
        cv.notify_all();
    }
    q.join();
    CHECK(seen == std::vector<int>{1});
    const auto pending = q.take_pending();
    CHECK(std::vector<int>(pending.begin(), pending.end()) == std::vector<int>{2, 3});
}

TEST_CASE("WorkQueue::drain waits for the queued and the running jobs, up to a deadline") {
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    std::atomic<int> done{0};
    WorkQueue<int> q([&](int&) {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return release; });
        ++done;
    });
    q.start();
    const auto now = [] { return std::chrono::steady_clock::now(); };
    CHECK(q.drain(now()));  // nothing queued
    for (int i = 0; i < 3; ++i) REQUIRE(q.push(i));
    CHECK_FALSE(q.drain(now() + std::chrono::milliseconds(50)));  // the first job holds it
    {
        std::lock_guard lock(mu);
        release = true;
    }
    cv.notify_all();
    CHECK(q.drain(now() + std::chrono::seconds(10)));
    CHECK(done == 3);
}
