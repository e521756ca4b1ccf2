// Recording findings into a process's Slot (findings.h).
#include "findings.h"

#include <algorithm>
#include <cstring>

#include "clock.h"
#include "text.h"

namespace stress {

const char* const kOverlapNames[kOverlaps] = {
    "overlapping a store to the same file",
    "overlapping only a store to the block's other attribute",
    "no store to the block overlapped",
    "a watched block (changed by others, not by the writers)",
};

const char* const kKindNames[kKinds] = {
    "write_result",
    "write_io",
    "read_io",
    "ryw_state",
    "ryw_online",
    "ryw_valid_zones",
    "bad_state",
    "bad_online",
    "bad_valid_zones",
    "bad_has_memory",
    "bad_has_normal_memory",
    "bad_meminfo",
    "final_online_vs_state",
    "final_state_vs_expected",
    "final_malformed",
    "child",
    "anomaly_state",
    "anomaly_online",
    "anomaly_valid_zones",
};

namespace {

void count_distinct(Slot& slot, Kind kind, std::string_view file, std::string_view bytes) {
    file = last_component(file);
    if (bytes.size() > kDistinctBytes || file.size() >= sizeof(Distinct::file)) {
        ++slot.other[kind];
        return;
    }
    for (uint32_t d = 0; d < slot.ndistinct[kind]; ++d) {
        Distinct& x = slot.distinct[kind][d];
        if (std::string_view(x.bytes, x.len) == bytes && file == x.file) {
            ++x.count;
            return;
        }
    }
    if (slot.ndistinct[kind] >= kMaxDistinct) {
        ++slot.other[kind];
        return;
    }
    Distinct& x = slot.distinct[kind][slot.ndistinct[kind]++];
    x.count = 1;
    x.len = static_cast<uint32_t>(bytes.size());
    std::memcpy(x.bytes, bytes.data(), bytes.size());
    copy_cstr(x.file, sizeof x.file, file);
}

void fill_example(Example& e, int block, std::string_view file, std::string_view bytes,
                  std::string_view detail) {
    e.t_ns = now_ns();
    e.block = block;
    e.len = static_cast<uint32_t>(std::min(bytes.size(), kExampleBytes));
    e.truncated = bytes.size() > kExampleBytes;
    std::memcpy(e.bytes, bytes.data(), e.len);
    copy_cstr(e.file, sizeof e.file, file);
    copy_cstr(e.detail, sizeof e.detail, detail);
}

}  // namespace

void record(Slot& slot, Kind kind, int block, std::string_view file, std::string_view bytes,
            std::string_view detail, bool lone) {
    ++slot.counts[kind];
    if (kind != kChild) count_distinct(slot, kind, file, bytes);
    if (lone && slot.nlone[kind] < kMaxExamples)
        fill_example(slot.lone[kind][slot.nlone[kind]++], block, file, bytes, detail);
    if (slot.nexamples[kind] < kMaxExamples)
        fill_example(slot.examples[kind][slot.nexamples[kind]++], block, file, bytes, detail);
}

}  // namespace stress
