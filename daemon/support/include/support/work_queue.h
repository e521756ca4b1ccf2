// WorkQueue: one thread that runs jobs in the order they were queued, for the daemon's
// background work (FUSE notifications, listing completion, the udev pipeline, deferred D-Bus
// methods). stop() ends the thread after the job it is running; jobs still queued then are
// not run (take_pending() hands them back, to release what they hold). drain() waits for the
// queue to run dry instead, as a handover to the next daemon does.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace hotplugfs {

template <class Job>
class WorkQueue {
public:
    using Handler = std::function<void(Job&)>;

    explicit WorkQueue(Handler handler) : handler_(std::move(handler)) {}
    ~WorkQueue() {
        stop();
        join();
    }
    WorkQueue(const WorkQueue&) = delete;
    WorkQueue& operator=(const WorkQueue&) = delete;

    // Starts the thread; returns once tid() names it.
    void start() {
        std::atomic<bool> started{false};
        thread_ = std::thread([this, &started] {
            tid_ = static_cast<pid_t>(syscall(SYS_gettid));
            started = true;
            started.notify_one();
            run();
        });
        started.wait(false);
    }

    // False (and the job dropped) once stop() was called.
    bool push(Job job) {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return false;
            jobs_.push_back(std::move(job));
        }
        cv_.notify_one();
        return true;
    }

    void stop() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
    }
    // Waits until every job queued so far has run (true), or until `deadline` (false).
    bool drain(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(mu_);
        return idle_.wait_until(lock, deadline, [&] { return jobs_.empty() && !running_; });
    }
    void join() {
        if (thread_.joinable()) thread_.join();
    }
    // After join(): the jobs that were never run.
    std::deque<Job> take_pending() {
        std::lock_guard lock(mu_);
        return std::exchange(jobs_, {});
    }

    // The worker's thread id (0 before start()): lets a job recognise requests it caused.
    pid_t tid() const { return tid_; }

private:
    void run() {
        std::unique_lock lock(mu_);
        for (;;) {
            cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            Job job = std::move(jobs_.front());
            jobs_.pop_front();
            running_ = true;
            lock.unlock();
            handler_(job);
            lock.lock();
            running_ = false;
            if (jobs_.empty()) idle_.notify_all();
        }
    }

    const Handler handler_;
    std::mutex mu_;  // guards jobs_, stopping_ and running_
    std::condition_variable cv_;
    std::condition_variable idle_;  // the queue ran dry
    std::deque<Job> jobs_;
    bool stopping_ = false;
    bool running_ = false;  // a job is being handled
    std::atomic<pid_t> tid_{0};
    std::thread thread_;  // last: started after everything it uses exists
};

}  // namespace hotplugfs
