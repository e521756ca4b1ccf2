// Stable inode numbers derived from identity: (scope, object id, slot of the entry).
// The same file always has the same number, so the kernel's caches stay valid across
// lookups and the daemon keeps no per-file table.
#pragma once

#include <cstdint>

#include "fsmodel/entry.h"

namespace fsmodel {

inline constexpr uint64_t kNodeBase = 1ull << 24;
inline constexpr uint64_t kNodeStride = 256;
inline constexpr uint64_t kCpuBase = 1ull << 32;  // cpu ids are below hotplug::kNrCpus
inline constexpr uint64_t kCpuStride = 64;
inline constexpr uint64_t kTierBase = 1ull << 34;  // tier ids are below 2^24 (an int >> 7)
inline constexpr uint64_t kTierStride = 16;
inline constexpr uint64_t kDeviceBase = 1ull << 36;
inline constexpr uint64_t kDeviceStride = 64;
inline constexpr uint64_t kBlockBase = 1ull << 40;
inline constexpr uint64_t kBlockStride = 32;

struct InodeId {
    Scope scope = Scope::Global;
    uint64_t object = 0;
    uint16_t slot = 0;
};

inline uint64_t encode_inode(Scope scope, uint64_t object, uint16_t slot) {
    switch (scope) {
        case Scope::Global: return 1 + slot;
        case Scope::Node: return kNodeBase + object * kNodeStride + slot;
        case Scope::Block: return kBlockBase + object * kBlockStride + slot;
        case Scope::Device: return kDeviceBase + object * kDeviceStride + slot;
        case Scope::Cpu: return kCpuBase + object * kCpuStride + slot;
        case Scope::Tier: return kTierBase + object * kTierStride + slot;
    }
    return 0;
}

inline InodeId decode_inode(uint64_t ino) {
    if (ino >= kBlockBase) {
        const uint64_t rel = ino - kBlockBase;
        return {Scope::Block, rel / kBlockStride, static_cast<uint16_t>(rel % kBlockStride)};
    }
    if (ino >= kDeviceBase) {
        const uint64_t rel = ino - kDeviceBase;
        return {Scope::Device, rel / kDeviceStride, static_cast<uint16_t>(rel % kDeviceStride)};
    }
    if (ino >= kTierBase) {
        const uint64_t rel = ino - kTierBase;
        return {Scope::Tier, rel / kTierStride, static_cast<uint16_t>(rel % kTierStride)};
    }
    if (ino >= kCpuBase) {
        const uint64_t rel = ino - kCpuBase;
        return {Scope::Cpu, rel / kCpuStride, static_cast<uint16_t>(rel % kCpuStride)};
    }
    if (ino >= kNodeBase) {
        const uint64_t rel = ino - kNodeBase;
        return {Scope::Node, rel / kNodeStride, static_cast<uint16_t>(rel % kNodeStride)};
    }
    return {Scope::Global, 0, static_cast<uint16_t>(ino - 1)};
}

}  // namespace fsmodel
