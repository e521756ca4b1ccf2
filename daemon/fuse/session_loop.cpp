#include "fuse/session_loop.h"

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "fuse/fuse_ops.h"

namespace hotplugfs {
namespace {

// Interrupts the leader's blocking read of /dev/fuse at the end (no SA_RESTART: EINTR).
int wake_signal() { return SIGRTMIN + 1; }
void on_wake(int) {}

void install_wake_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_handler = on_wake;
        sigemptyset(&sa.sa_mask);
        sigaction(wake_signal(), &sa, nullptr);
    });
}

// A request spliced into a pipe (never asked for) cannot be looked at: hand it on at once.
bool opaque(const fuse_buf& buf) { return (buf.flags & FUSE_BUF_IS_FD) != 0; }

// The loop this thread serves, and whether it is the one reading requests now.
thread_local SessionLoop* tl_loop = nullptr;
thread_local bool tl_leading = false;

}  // namespace

SessionLoop::SessionLoop(fuse_session* se, unsigned max_threads, Pause pause)
    : se_(se), max_threads_(max_threads ? max_threads : 1), pause_(std::move(pause)) {
    install_wake_handler();
}

void SessionLoop::start_thread() {
    // The pool takes no signal but the wake signal: SIGTERM and friends go to run()'s thread.
    sigset_t blocked, old;
    sigfillset(&blocked);
    sigdelset(&blocked, wake_signal());
    pthread_sigmask(SIG_BLOCK, &blocked, &old);
    threads_.emplace_back(&SessionLoop::serve, this);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

int SessionLoop::run() {
    std::unique_lock lock(mu_);
    start_thread();
    // A signal that ends the session lands here, outside the pool: look every 50 ms.
    while (!done_ && !fuse_session_exited(se_)) {
        if (pause_.requested && pause_.requested()) {
            paused_ = true;
            break;
        }
        ended_.wait_for(lock, std::chrono::milliseconds(50));
    }
    done_ = true;
    turn_.notify_all();
    // The leader may be blocked reading the device, or about to: wake it until it has gone.
    while (led_) {
        if (reading_) pthread_kill(leader_, wake_signal());
        ended_.wait_for(lock, std::chrono::milliseconds(10));
    }
    if (paused_) {
        // The requests read are answered before the handover; one that waits (a slow offline)
        // is ended once patience runs out, as a signal to its caller would.
        const auto deadline = std::chrono::steady_clock::now() + pause_.patience;
        while (busy_ > 0 && std::chrono::steady_clock::now() < deadline)
            ended_.wait_for(lock, std::chrono::milliseconds(10));
        if (busy_ > 0 && pause_.impatient) {
            lock.unlock();
            pause_.impatient();
            lock.lock();
        }
    }
    // No thread is started once done_ is set.
    std::vector<std::thread> threads;
    threads.swap(threads_);
    lock.unlock();
    for (auto& t : threads) t.join();
    return result_;
}

void SessionLoop::finish(int result) {
    if (!done_ && result < 0) result_ = result;
    done_ = true;
    led_ = false;
    turn_.notify_all();
    ended_.notify_all();
}

void SessionLoop::hand_over() {
    led_ = false;
    ended_.notify_all();  // run() waits for the leader to go
    if (done_) return;
    if (idle_ > 0)
        turn_.notify_one();
    else if (threads_.size() < max_threads_)
        start_thread();
    // Otherwise every thread is busy: the first one to finish leads.
}

void SessionLoop::step_aside() {
    if (!tl_loop || !tl_leading) return;
    std::lock_guard lock(tl_loop->mu_);
    tl_loop->hand_over();
    tl_leading = false;
}

void SessionLoop::serve() {
    tl_loop = this;
    fuse_buf buf{};
    std::unique_lock lock(mu_);
    while (!done_) {
        ++idle_;
        turn_.wait(lock, [&] { return done_ || !led_; });
        --idle_;
        if (done_) break;
        led_ = true;
        leader_ = pthread_self();
        lock.unlock();
        for (;;) {
            reading_ = true;
            const int res = done_ ? 0 : fuse_session_receive_buf(se_, &buf);
            reading_ = false;
            if (res == -EINTR && !done_ && !fuse_session_exited(se_)) continue;
            // A request read is answered even when the loop ends now: a pause must leave
            // nothing unanswered behind it.
            if (res <= 0 || fuse_session_exited(se_)) {  // 0: unmounted
                lock.lock();
                finish(res == -EINTR ? 0 : res);
                break;
            }
            tl_leading = true;
            ++busy_;
            if (opaque(buf)) step_aside();
            fuse_session_process_buf(se_, &buf);
            --busy_;
            if (!tl_leading) {  // it stepped aside: back in line
                lock.lock();
                break;
            }
            if (done_) {
                lock.lock();
                finish(0);
                break;
            }
        }
    }
    lock.unlock();
    std::free(buf.mem);
}

}  // namespace hotplugfs
