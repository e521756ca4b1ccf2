// FuseServer: the low-level FUSE adapter. Maps each request to the Tree, replies exactly
// once, and keeps the kernel's caches exact through the Notifier.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>

#include "model/live_machine.h"
#include "fuse/device_io.h"
#include "fuse/inflight_journal.h"
#include "fuse/known_inodes.h"
#include "fuse/listing_completer.h"
#include "fuse/notifier.h"
#include "sandbox/unique_fd.h"

struct fuse_session;
typedef uint64_t fuse_ino_t;

namespace hotplugfs {

struct FuseOptions {
    bool allow_other = false;
    // The page-cache mode (--fast): page-cached reads of every file, not exact under
    // concurrency. Off (the default), the exact mode: files that can change are read through a
    // per-open snapshot. In both, OPEN reaches the daemon (so open() fails like kernfs) and
    // writes bypass the page cache.
    bool fast = false;
    unsigned max_threads = 8;
    bool debug = false;  // libfuse prints every request
};

// A connection another daemon mounted and served, handed over by whoever kept it open.
struct FuseResume {
    sandbox::UniqueFd fd;        // the /dev/fuse descriptor
    InitExchange init;           // what the first daemon and the kernel agreed at INIT
    sandbox::UniqueFd inflight;  // the previous daemon's InflightJournal, if it kept one
    std::string handles;         // the open files' handles (export_handles()), "" when unknown
};

// What a keeper needs to hand the connection to the next daemon.
struct FuseConnection {
    int fd = -1;  // owned by the server
    InitExchange init;
    int inflight = -1;             // the InflightJournal's memory file (-1: none), owned too
    bool resumed = false;          // the keeper holds fd and init already
    bool inflight_kept = false;    // ... and the journal
};

class FuseServer : public ChangeListener {
public:
    FuseServer(LiveMachine& live, FuseOptions options);
    ~FuseServer();
    FuseServer(const FuseServer&) = delete;
    FuseServer& operator=(const FuseServer&) = delete;

    // Mounts (or, given `resume`, serves the connection already mounted at `mountpoint`),
    // calls on_ready once the mount answers, serves until a signal or unmount.
    // Returns 0 after a clean unmount, non-zero with a logged reason otherwise.
    int run(const std::string& mountpoint, const std::function<void()>& on_ready,
            std::optional<FuseResume> resume = std::nullopt);

    // Before run(): SIGHUP, once the mount answers, stops the reading of requests at a request
    // boundary and calls `handover` once those read are answered (a request still waiting
    // after `patience` is ended as a signal to its caller would), the connection intact. It
    // returns only when the handover failed; the daemon then serves on. Without one, SIGHUP
    // ends the session like SIGTERM.
    void set_handover(std::function<void()> handover, std::chrono::milliseconds patience);
    // During the handover: true once every change notification queued was sent.
    bool drain_notifications(std::chrono::steady_clock::time_point deadline) {
        return notifier_.drain(deadline);
    }
    // The per-open snapshots and the next handle, for the next daemon (FuseResume::handles).
    std::string export_handles();

    // Once INIT is answered: the connection, for a keeper (nullopt before).
    std::optional<FuseConnection> connection() const;

    // Every change of the model, wherever it came from, reaches the kernel's caches here.
    void on_invalidations(const fsmodel::Invalidations& inval) override { notifier_.apply(inval); }
    void on_events(const std::vector<hotplug::Uevent>&, EventTime) override {}

    // Called after a READDIR's reply: must not throw (the request is answered already). A
    // listing it cannot queue stays uncached, which costs only speed.
    void complete_listing(uint64_t ino, uint64_t end_offset, pid_t requester) noexcept {
        try {
            if (completer_) completer_->request(ino, end_offset, requester);
        } catch (...) {
        }
    }

    // True once the session is shutting down: waits inside requests end early.
    bool stopping() const;

    // Per-open snapshots of the exact mode: the bytes one open file description reads.
    uint64_t open_snapshot();
    void close_snapshot(uint64_t fh);
    // Copies up to `size` bytes at `off` of the snapshot, taking it when `off` is 0 or none
    // was taken yet. Returns 0 or an errno.
    int read_snapshot(uint64_t fh, fuse_ino_t ino, size_t size, off_t off, std::string& out);

    // Whether open(O_TRUNC) arrives inside the OPEN (FUSE_CAP_ATOMIC_O_TRUNC), set at INIT.
    void set_truncate_in_open(bool on) { truncate_in_open_ = on; }
    bool truncate_in_open() const { return truncate_in_open_; }

    DeviceIo& device_io() { return io_; }
    LiveMachine& live() { return live_; }
    KnownInodes& known() { return known_; }
    const FuseOptions& options() const { return options_; }

private:
    // Mounts, or takes over the resumed connection; false (logged) if neither worked.
    bool attach(const std::string& mountpoint, std::optional<FuseResume>& resume);
    // The journal of requests in flight: the previous daemon's if it was handed back.
    void open_journal(sandbox::UniqueFd handed_back);
    // After a takeover: the requests the previous daemon read and did not answer are resent
    // by the kernel, or, if it cannot, answered EIO.
    void answer_left_requests(const std::string& mountpoint, int fd, const InitExchange& init);
    // The handles export_handles() of the previous daemon wrote; false if unreadable.
    bool import_handles(const std::string& bytes);
    // Serves until the session ends, handing over as often as asked (and failed).
    int serve();

    LiveMachine& live_;
    FuseOptions options_;
    KnownInodes known_;
    Notifier notifier_;
    std::mutex snapshots_mu_;  // guards snapshots_ and next_fh_
    std::unordered_map<uint64_t, std::optional<std::string>> snapshots_;
    // Handles of a previous daemon may still be open in the kernel: start past any of them
    // (see fuse_server.cpp).
    uint64_t next_fh_;
    bool adopt_handles_ = false;  // a taken-over connection: unknown handles are a previous daemon's
    std::unique_ptr<ListingCompleter> completer_;  // lives from mount to session teardown
    fuse_session* se_ = nullptr;
    DeviceIo io_;
    std::optional<InflightJournal> journal_;
    bool journal_kept_ = false;  // handed back: the keeper holds it
    bool resumed_ = false;
    std::function<void()> handover_;
    std::chrono::milliseconds patience_{0};
    std::atomic<bool> serving_{false};       // the mount answered: a handover may start
    std::atomic<bool> ending_waits_{false};  // a handover ran out of patience
    std::atomic<bool> truncate_in_open_{false};  // written once by INIT, before other requests
};

}  // namespace hotplugfs
