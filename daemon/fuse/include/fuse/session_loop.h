// SessionLoop: serves a FUSE session with a leader/follower pool of threads.
//
// One thread at a time (the leader) reads requests from /dev/fuse and answers them itself, so
// a request costs no hand-off between threads: on a machine with few CPUs the thread that was
// just woken stays hot, as in a single-threaded loop (measured: an OPEN+RELEASE pair 20% faster
// than libfuse's multithreaded loop). A request handler that is about to wait (a write behind
// another operation, a slow offline, the state file's fsync) calls step_aside(): the reading
// passes to a follower (started if none is idle, up to max_threads), so readers and the
// INTERRUPT that ends a waiting write are still answered.
//
// A pause (for a handover to the next daemon) stops the reading at a request boundary: every
// request read is answered, and the kernel holds the rest for whoever reads next.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

struct fuse_session;

namespace hotplugfs {

// When a SessionLoop stops reading requests, to hand the connection over.
struct SessionPause {
    std::function<bool()> requested;  // looked at every 50 ms; null: never
    // How long requests already read may take to be answered before `impatient` is called
    // (it should make their waits end), after which the loop waits for them still.
    std::chrono::milliseconds patience{0};
    std::function<void()> impatient;
};

class SessionLoop {
public:
    using Pause = SessionPause;

    SessionLoop(fuse_session* se, unsigned max_threads, Pause pause = {});
    SessionLoop(const SessionLoop&) = delete;
    SessionLoop& operator=(const SessionLoop&) = delete;

    // Serves until the session exits: unmounted, or ended by a signal that the calling
    // thread takes (fuse_set_signal_handlers); the pool's threads take no signals.
    // Or until a pause is requested: then no more requests are read, and run() returns
    // once every request read was answered, with paused() true.
    // Returns 0, or -errno when reading the device failed.
    int run();
    bool paused() const { return paused_; }

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
    const Pause pause_;
    bool paused_ = false;
    std::atomic<unsigned> busy_{0};  // threads inside a request
    // The leader is (about to be) in its read of the device: only there may the wake signal
    // land, for a syscall of a request it handles must not fail EINTR.
    std::atomic<bool> reading_{false};
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
