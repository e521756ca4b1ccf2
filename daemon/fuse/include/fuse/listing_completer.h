// ListingCompleter: reads directories to their end in the background, from inside the mount.
//
// The kernel keeps a FUSE directory listing cached only once a reader has read it to its end
// (an empty READDIR reply). Tools such as lsmem stop at the first entry they need, so without
// this every later opendir of that directory would cost a GETATTR and a READDIR round trip.
// The completer does that last read for them, on its own thread, outside any request.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "support/work_queue.h"

namespace hotplugfs {

class ListingCompleter {
public:
    using PathOf = std::function<std::optional<std::string>(uint64_t ino)>;

    ListingCompleter(std::string mountpoint, PathOf path_of);
    ~ListingCompleter();
    ListingCompleter(const ListingCompleter&) = delete;
    ListingCompleter& operator=(const ListingCompleter&) = delete;

    void start();
    // A reader got the whole listing up to `end_offset` and may stop there: read the (empty)
    // rest for it. No-op for the completer's own reads.
    void request(uint64_t ino, uint64_t end_offset, pid_t requester);
    // Ask the worker to stop; join() once the FUSE connection is gone (its I/O then fails).
    void stop();
    void join();

private:
    using Job = std::pair<uint64_t, uint64_t>;  // (inode, end offset)
    void complete(const Job& job);
    void read_end(const std::string& path, uint64_t end_offset);

    const std::string mountpoint_;
    const PathOf path_of_;
    std::mutex mu_;                        // guards queued_
    std::unordered_set<uint64_t> queued_;  // inodes with a job queued or running
    WorkQueue<Job> jobs_{[this](Job& job) { complete(job); }};
};

}  // namespace hotplugfs
