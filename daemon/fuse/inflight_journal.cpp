#include "fuse/inflight_journal.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace hotplugfs {

// At most one request per serving thread is in flight (SessionLoop's max_threads, 8 by
// default); the rest is room. One page in all.
struct InflightJournal::Layout {
    static constexpr uint64_t kMagic = 0x31746c666e697068;  // "hpinflt1"
    static constexpr uint32_t kSlots = 255;
    struct Slot {
        uint64_t unique;  // 0: free
        uint32_t opcode;
        uint32_t unused;
    };
    uint64_t magic;
    uint32_t slots;
    uint32_t unused;
    Slot slot[kSlots];
};
static_assert(sizeof(InflightJournal::Layout) == 4096);

namespace {

using Layout = InflightJournal::Layout;

// The slot this thread's last request took, in the journal it took it from.
struct LastSlot {
    const void* journal = nullptr;
    uint32_t index = 0;
    uint64_t unique = 0;
};
thread_local LastSlot tl_last;

std::atomic_ref<uint64_t> unique_of(Layout::Slot& slot) {
    return std::atomic_ref(slot.unique);
}

Layout* map_layout(int fd) {
    void* p = mmap(nullptr, sizeof(Layout), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? nullptr : static_cast<Layout*>(p);
}

}  // namespace

bool fuse_opcode_answered(uint32_t opcode) {
    return opcode != FUSE_FORGET && opcode != FUSE_BATCH_FORGET && opcode != FUSE_INTERRUPT &&
           opcode != FUSE_NOTIFY_REPLY;
}

InflightJournal InflightJournal::create() {
    auto fail = [](const char* what) {
        throw std::system_error(errno, std::generic_category(), what);
    };
    sandbox::UniqueFd fd(memfd_create("hotplugfs-fuse-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) fail("memfd_create");
    if (ftruncate(fd.get(), sizeof(Layout)) != 0) fail("ftruncate");
    // Its size never changes, so a mapping of it can never fault (SIGBUS) past its end.
    if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        fail("sealing");
    Layout* map = map_layout(fd.get());
    if (!map) fail("mmap");
    map->magic = Layout::kMagic;
    map->slots = Layout::kSlots;
    return InflightJournal(std::move(fd), map);
}

std::optional<InflightJournal> InflightJournal::adopt(sandbox::UniqueFd fd, std::string& why) {
    struct stat st {};
    const int seals = fcntl(fd.get(), F_GET_SEALS);
    if (fstat(fd.get(), &st) != 0 || st.st_size != static_cast<off_t>(sizeof(Layout)) ||
        seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
        why = "not a sealed memory file of the journal's size";
        return std::nullopt;
    }
    Layout* map = map_layout(fd.get());
    if (!map) {
        why = std::string("mmap: ") + std::strerror(errno);
        return std::nullopt;
    }
    InflightJournal journal(std::move(fd), map);
    if (map->magic != Layout::kMagic || map->slots != Layout::kSlots) {
        why = "not a journal of in-flight requests of this version";
        return std::nullopt;
    }
    return journal;
}

InflightJournal::InflightJournal(InflightJournal&& other) noexcept
    : fd_(std::move(other.fd_)), map_(std::exchange(other.map_, nullptr)) {}

InflightJournal& InflightJournal::operator=(InflightJournal&& other) noexcept {
    if (this != &other) {
        if (map_) munmap(map_, sizeof(Layout));
        fd_ = std::move(other.fd_);
        map_ = std::exchange(other.map_, nullptr);
    }
    return *this;
}

InflightJournal::~InflightJournal() {
    if (map_) munmap(map_, sizeof(Layout));
}

void InflightJournal::record(uint64_t unique, uint32_t opcode) noexcept {
    if (unique == 0 || !fuse_opcode_answered(opcode)) return;
    auto claim = [&](uint32_t index, uint64_t expected) {
        Layout::Slot& slot = map_->slot[index];
        if (!unique_of(slot).compare_exchange_strong(expected, unique)) return false;
        std::atomic_ref(slot.opcode).store(opcode, std::memory_order_relaxed);
        tl_last = {map_, index, unique};
        return true;
    };
    // This thread's previous request is answered by now: its slot is free, or still holds it
    // if it was dropped unanswered.
    if (tl_last.journal == map_) {
        const uint64_t held = unique_of(map_->slot[tl_last.index]).load();
        if ((held == 0 || held == tl_last.unique) && claim(tl_last.index, held)) return;
    }
    const uint32_t start = static_cast<uint32_t>((unique >> 1) % Layout::kSlots);
    for (uint32_t i = 0; i < Layout::kSlots; ++i)
        if (claim((start + i) % Layout::kSlots, 0)) return;
    // Full: more requests in flight than ever expected; this one is not journaled.
}

void InflightJournal::answered(uint64_t unique) noexcept {
    if (unique == 0) return;  // a notification
    if (tl_last.journal == map_ && tl_last.unique == unique) {
        uint64_t expected = unique;
        if (unique_of(map_->slot[tl_last.index]).compare_exchange_strong(expected, 0)) return;
    }
    for (auto& slot : map_->slot) {
        uint64_t expected = unique;
        if (unique_of(slot).compare_exchange_strong(expected, 0)) return;
    }
}

std::vector<InflightRequest> InflightJournal::take_all() {
    std::vector<InflightRequest> out;
    for (auto& slot : map_->slot) {
        const uint64_t unique = unique_of(slot).exchange(0);
        if (unique != 0) out.push_back({unique, std::atomic_ref(slot.opcode).load()});
    }
    return out;
}

}  // namespace hotplugfs
