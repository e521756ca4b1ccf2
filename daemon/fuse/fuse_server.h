// FuseServer: the low-level FUSE adapter. Maps each request to the Tree, replies exactly
// once, and keeps the kernel's caches exact through the Notifier.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/machine_state.h"
#include "fuse/known_inodes.h"
#include "fuse/listing_completer.h"
#include "fuse/notifier.h"

struct fuse_session;

namespace hotplugfs {

struct FuseOptions {
    bool allow_other = false;
    // Send OPEN to the daemon so open() itself fails like kernfs (EACCES on a read-only file
    // opened for writing). Costs one round trip per open; off = zero-message open.
    bool exact_open = false;
    unsigned max_threads = 8;
    bool debug = false;  // libfuse prints every request
};

class FuseServer {
public:
    FuseServer(MachineState& state, FuseOptions options);
    ~FuseServer();
    FuseServer(const FuseServer&) = delete;
    FuseServer& operator=(const FuseServer&) = delete;

    // Mounts, calls on_ready once the mount answers, serves until a signal or unmount.
    // Returns 0 after a clean unmount, non-zero with a logged reason otherwise.
    int run(const std::string& mountpoint, const std::function<void()>& on_ready);

    // Invalidations from operations that did not come through FUSE (the control plane).
    void notify(const fsmodel::Invalidations& inval) { notifier_.apply(inval); }

    void complete_listing(uint64_t ino, uint64_t end_offset, pid_t requester) {
        if (completer_) completer_->request(ino, end_offset, requester);
    }

    MachineState& state() { return state_; }
    KnownInodes& known() { return known_; }
    const FuseOptions& options() const { return options_; }

private:
    MachineState& state_;
    FuseOptions options_;
    KnownInodes known_;
    Notifier notifier_;
    std::unique_ptr<ListingCompleter> completer_;  // lives from mount to session teardown
    fuse_session* se_ = nullptr;
};

}  // namespace hotplugfs
