// The tool's helpers for processes: the daemon's resource counters from /proc, memory shared
// with forked clients, and client processes that are always killed and reaped by their owner.
#pragma once

#include <sys/mman.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>

namespace load {

// Entries of /proc/PID/fd, or -1 when the process is gone.
long fd_count(pid_t pid);

// Polls `pid`'s fd count until it is <= `target` or `seconds` pass; returns the last count.
// (RELEASE and the close of a client's socket reach the daemon after the client is gone.)
long settle_fd_count(pid_t pid, long target, double seconds);

// One T in anonymous shared memory, visible to every process forked after it was made.
template <class T>
class Shared {
  public:
    Shared() {
        void* p =
            mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        ptr_ = std::construct_at(static_cast<T*>(p));
    }
    ~Shared() {
        std::destroy_at(ptr_);
        munmap(ptr_, sizeof(T));
    }
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;
    T* operator->() const { return ptr_; }
    T& operator*() const { return *ptr_; }

  private:
    T* ptr_ = nullptr;
};

// A forked client: runs `body` and _exits with its result (1 on an exception). It dies with
// the tool (PR_SET_PDEATHSIG), reads /dev/null and keeps stdout/stderr. The destructor sends
// SIGKILL by pidfd and reaps it.
class Client {
  public:
    explicit Client(const std::function<int()>& body);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    pid_t pid() const { return pid_; }
    bool reaped() const { return reaped_; }
    int status() const { return status_; }  // the wait status once reaped
    void kill_now();                        // SIGKILL (by pidfd), not waiting
    // Waits up to `seconds` for it to end; true once reaped.
    bool wait(double seconds);

  private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
    bool reaped_ = false;
    int status_ = 0;
};

// True when the wait status says "exited with 0".
bool exited_ok(int status);

}  // namespace load
