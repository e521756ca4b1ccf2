// What a process of hotplugfs-stress can find wrong, and where it keeps what it found: one Slot
// per process in memory shared with the parent (MAP_SHARED before fork), so findings survive a
// child that is killed or crashes, and the parent adds them up at the end.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace stress {

// --- violation kinds ---------------------------------------------------------------------------
enum Kind : int {
    kWriteResult,     // a store returned something other than the prediction
    kWriteIo,         // open/close around a store failed
    kReadIo,          // open/read/close failed
    kRywState,        // read-your-writes: state after a successful store
    kRywOnline,       // read-your-writes: online after a successful store
    kRywValidZones,   // read-your-writes: valid_zones after online_movable
    kBadState,        // a reader saw a malformed state
    kBadOnline,       // a reader saw a malformed online
    kBadValidZones,   // a reader saw a malformed valid_zones
    kBadHasMemory,    // a reader saw a malformed node/has_memory
    kBadHasNormal,    // a reader saw a malformed node/has_normal_memory
    kBadMeminfo,      // a reader saw a malformed nodeK/meminfo
    kFinalOnline,     // quiescent: online disagrees with state
    kFinalState,      // quiescent: state differs from the owner's expectation
    kFinalMalformed,  // quiescent: valid_zones, a node mask or a meminfo is malformed
    kChild,           // a child process failed, crashed or hung
    // --mode fast only: a reader saw a malformed block attribute (not a violation).
    kAnomState,
    kAnomOnline,
    kAnomValidZones,
    kKinds
};

inline bool is_anomaly(int k) {
    return k == kAnomState || k == kAnomOnline || k == kAnomValidZones;
}

// Where the stores to a block stood while a reader read one of its attributes.
enum Overlap : int {
    kOvSameFile,  // a store to the very file read overlapped the read
    kOvSibling,   // only stores to the block's other attribute overlapped (valid_zones: any)
    kOvNone,      // no store to this block overlapped the read
    kOvExternal,  // a --watch/--may-vanish block: changed by others, overlap unknown
    kOverlaps
};

extern const char* const kOverlapNames[kOverlaps];
extern const char* const kKindNames[kKinds];

constexpr int kMaxExamples = 10;
constexpr size_t kExampleBytes = 120;

struct Example {
    uint64_t t_ns;
    int block;     // -1 when the file belongs to no block
    uint32_t len;  // bytes captured in `bytes` (the original may be longer, see `truncated`)
    uint8_t truncated;
    char file[48];
    char bytes[kExampleBytes];
    char detail[400];
};

// How often one byte string was seen for one kind of violation.
constexpr int kMaxDistinct = 24;
constexpr size_t kDistinctBytes = 40;
struct Distinct {
    uint64_t count;
    uint32_t len;
    char file[24];  // the attribute's last path component
    char bytes[kDistinctBytes];
};

// One per child, in memory shared with the parent (MAP_SHARED before fork).
struct Slot {
    std::atomic<uint64_t> ops;  // progress, read by the parent while the child runs
    uint64_t writes_ok;         // stores that succeeded as predicted
    uint64_t writes_refused;    // stores that failed as predicted
    uint64_t changes;           // stores that changed a block's state
    uint64_t reads;             // attribute reads (reader reads and verification reads)
    uint64_t watched_reads;     // reader reads of --watch/--may-vanish blocks
    uint64_t watched_ok;        // ... that returned well-formed bytes
    uint64_t vanished_open;     // ... of --may-vanish blocks whose open failed ENOENT
    uint64_t vanished_read;     // ... of --may-vanish blocks whose read failed ENOENT
    uint64_t counts[kKinds];
    uint32_t nexamples[kKinds];
    Example examples[kKinds][kMaxExamples];
    uint32_t ndistinct[kKinds];
    uint64_t other[kKinds];  // occurrences not in `distinct` (table full or bytes too long)
    Distinct distinct[kKinds][kMaxDistinct];
    uint64_t overlap[kKinds][kOverlaps];  // reader findings on block attributes, by Overlap
    uint32_t nlone[kKinds];               // examples of findings that no store overlapped
    Example lone[kKinds][kMaxExamples];
    int finished;  // the child reached its normal end
};

// Counts one finding and keeps it as an example while there is room; `lone` findings (a reader's
// malformed read that no store to its block overlapped) are also kept in a list of their own.
void record(Slot& slot, Kind kind, int block, std::string_view file, std::string_view bytes,
            std::string_view detail, bool lone = false);

}  // namespace stress
