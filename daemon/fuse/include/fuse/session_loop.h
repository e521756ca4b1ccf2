// SessionLoop: serves a FUSE session with a leader/follower pool of threads.
//
// One thread at a time (the leader) reads requests from /dev/fuse and answers them itself, so
// a request costs no hand-off between threads: on a machine with few CPUs the thread that was
// just woken stays hot, as in a single-threaded loop (measured: an OPEN+RELEASE pair 20% faster
// than libfuse's multithreaded loop). A request handler that is about to wait (a write behind
// another operation, a slow offline, the state file's fsync) calls step_aside(): the reading
// passes to a follower (started if none is idle, up to max_threads), so readers and the
// INTERRUPT that ends a waiting write are still answered.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

struct fuse_session;

namespace hotplugfs {

class SessionLoop {
public:
    SessionLoop(fuse_session* se, unsigned max_threads);
    SessionLoop(const SessionLoop&) = delete;
    SessionLoop& operator=(const SessionLoop&) = delete;

    // Serves until the session exits: unmounted, or ended by a signal that the calling
    // thread takes (fuse_set_signal_handlers); the pool's threads take no signals.
    // Returns 0, or -errno when reading the device failed.
    int run();

    // From a request handler: this thread is about to wait, let another thread read requests.
    // A no-op outside a SessionLoop thread or on a thread that already stepped aside.
    static void step_aside();

private:
    void serve();
    // With mu_ held: another thread leads from now on.
    void hand_over();
    void finish(int result);
    void start_thread();

    fuse_session* se_;
    const unsigned max_threads_;
    std::atomic<bool> done_{false};
    std::mutex mu_;                 // guards everything below
    std::condition_variable turn_;  // a follower may lead
    std::condition_variable ended_; // done_ was set (run() waits for it)
    bool led_ = false;              // a thread is leading
    pthread_t leader_{};            // valid while led_: woken by a signal at the end
    unsigned idle_ = 0;             // followers waiting for their turn
    int result_ = 0;
    std::vector<std::thread> threads_;
};

}  // namespace hotplugfs
