#include "hotplug/types.h"

#include <array>

namespace hotplug {
namespace {

constexpr std::array<std::string_view, kZoneCount> kZoneNames = {"DMA", "DMA32", "Normal",
                                                                 "Movable"};
constexpr std::array<std::string_view, 3> kStateNames = {"offline", "online", "going-offline"};
constexpr std::array<std::string_view, 4> kOnlineTypeNames = {"offline", "online",
                                                              "online_kernel", "online_movable"};
constexpr std::array<std::string_view, 2> kPolicyNames = {"contig-zones", "auto-movable"};
constexpr std::array<std::string_view, 3> kMemmapNames = {"N", "Y", "force"};
constexpr std::array<std::string_view, 4> kArchNames = {"x86_64", "arm64", "ppc64", "s390x"};

template <class Enum, size_t N>
std::optional<Enum> lookup(const std::array<std::string_view, N>& names, std::string_view word) {
    for (size_t i = 0; i < N; ++i)
        if (names[i] == word) return static_cast<Enum>(i);
    return std::nullopt;
}

}  // namespace

std::string_view zone_name(Zone zone) { return kZoneNames[static_cast<size_t>(zone)]; }
std::string_view block_state_name(BlockState s) { return kStateNames[static_cast<size_t>(s)]; }
std::string_view online_type_name(OnlineType t) { return kOnlineTypeNames[static_cast<size_t>(t)]; }
std::optional<OnlineType> online_type_from_word(std::string_view word) {
    return lookup<OnlineType>(kOnlineTypeNames, word);
}
std::string_view online_policy_name(OnlinePolicy p) { return kPolicyNames[static_cast<size_t>(p)]; }
std::optional<OnlinePolicy> online_policy_from_word(std::string_view word) {
    return lookup<OnlinePolicy>(kPolicyNames, word);
}
std::string_view memmap_on_memory_name(MemmapOnMemory m) {
    return kMemmapNames[static_cast<size_t>(m)];
}
std::span<const std::string_view> online_type_names() { return kOnlineTypeNames; }
std::span<const std::string_view> online_policy_names() { return kPolicyNames; }
std::span<const std::string_view> memmap_on_memory_names() { return kMemmapNames; }
std::string_view arch_name(Arch a) { return kArchNames[static_cast<size_t>(a)]; }
std::optional<Arch> arch_from_name(std::string_view name) { return lookup<Arch>(kArchNames, name); }

uint64_t arch_section_size(Arch arch) {
    switch (arch) {
        case Arch::Ppc64: return 16ull << 20;
        case Arch::S390x: return 256ull << 20;
        case Arch::X86_64:
        case Arch::Arm64: break;
    }
    return 128ull << 20;
}

uint64_t arch_zone_limit(Arch arch, Zone zone) {
    constexpr uint64_t kNone = 0;
    constexpr uint64_t kAll = UINT64_MAX;
    switch (arch) {
        case Arch::X86_64:
            if (zone == Zone::DMA) return 16ull << 20;
            if (zone == Zone::DMA32) return 4ull << 30;
            return kAll;
        case Arch::Arm64:
            if (zone == Zone::DMA) return kNone;
            if (zone == Zone::DMA32) return 4ull << 30;
            return kAll;
        case Arch::S390x:
            if (zone == Zone::DMA) return 2ull << 30;
            if (zone == Zone::DMA32) return kNone;
            return kAll;
        case Arch::Ppc64:
            if (zone == Zone::Normal || zone == Zone::Movable) return kAll;
            return kNone;
    }
    return kAll;
}

ZoneFit zone_fit(Arch arch, Zone zone, uint64_t end) {
    if (zone != Zone::DMA && zone != Zone::DMA32) return ZoneFit::Fits;
    const uint64_t limit = arch_zone_limit(arch, zone);
    if (limit == 0) return ZoneFit::NoSuchZone;
    return end > limit ? ZoneFit::AboveLimit : ZoneFit::Fits;
}

}  // namespace hotplug
