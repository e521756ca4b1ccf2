// InflightJournal: the requests this daemon has read from /dev/fuse and not answered yet, kept
// in a shared memory file that outlives the daemon (the keeper holds it beside the connection,
// as "fuse-inflight"). A kernel older than 6.9 cannot resend what a dead daemon had read
// (FUSE_NOTIFY_RESEND); it keeps those requests on the connection until someone answers them,
// so the next daemon reads this journal and answers each of them EIO instead of leaving its
// caller waiting forever.
//
// Recording costs a few atomic operations and no system call: a thread handles
// one request at a time and answers it itself, so it reuses the slot of its previous request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/unique_fd.h"

namespace hotplugfs {

struct InflightRequest {
    uint64_t unique = 0;
    uint32_t opcode = 0;
};

class InflightJournal {
  public:
    // A fresh, empty journal in a new memory file. Throws std::system_error.
    static InflightJournal create();
    // The journal a previous daemon wrote, in the memory file a keeper handed back; nullopt
    // (and `why`) when the file is not one create() made.
    static std::optional<InflightJournal> adopt(sandbox::UniqueFd fd, std::string& why);

    InflightJournal(InflightJournal&& other) noexcept;
    InflightJournal& operator=(InflightJournal&& other) noexcept;
    InflightJournal(const InflightJournal&) = delete;
    ~InflightJournal();

    // From the thread that read the request, before handling it. Requests that are never
    // answered (FORGET, INTERRUPT, ...) are not recorded.
    void record(uint64_t unique, uint32_t opcode) noexcept;
    // Once the answer to `unique` was written (or failed to be).
    void answered(uint64_t unique) noexcept;

    // What a previous daemon left unanswered; then the journal is empty.
    std::vector<InflightRequest> take_all();

    int fd() const { return fd_.get(); }

    struct Layout;  // the memory file's content (inflight_journal.cpp)

  private:
    InflightJournal(sandbox::UniqueFd fd, Layout* map) : fd_(std::move(fd)), map_(map) {}

    sandbox::UniqueFd fd_;
    Layout* map_ = nullptr;
};

// Whether a FUSE opcode is answered (false for FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY).
bool fuse_opcode_answered(uint32_t opcode);

}  // namespace hotplugfs
