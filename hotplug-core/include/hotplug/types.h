// Vocabulary of the memory-hotplug model: zones, block states, online types, policies.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace hotplug {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr unsigned kPageShift = 12;

enum class Zone : uint8_t { DMA = 0, DMA32 = 1, Normal = 2, Movable = 3 };
inline constexpr int kZoneCount = 4;
std::string_view zone_name(Zone zone);
inline bool is_kernel_zone(Zone z) { return z != Zone::Movable; }

enum class BlockState : uint8_t { Offline = 0, Online = 1, GoingOffline = 2 };
std::string_view block_state_name(BlockState state);

// The kernel's MMOP_* values: what a write to `state` or `auto_online_blocks` asks for.
enum class OnlineType : uint8_t { Offline = 0, Online = 1, OnlineKernel = 2, OnlineMovable = 3 };
std::string_view online_type_name(OnlineType type);
std::optional<OnlineType> online_type_from_word(std::string_view word);

enum class OnlinePolicy : uint8_t { ContigZones = 0, AutoMovable = 1 };
std::string_view online_policy_name(OnlinePolicy policy);
std::optional<OnlinePolicy> online_policy_from_word(std::string_view word);

enum class MemmapOnMemory : uint8_t { No = 0, Yes = 1, Force = 2 };
std::string_view memmap_on_memory_name(MemmapOnMemory mode);

// Every word of an enum, in enum order (what parameter tables list as valid values).
std::span<const std::string_view> online_type_names();
std::span<const std::string_view> online_policy_names();
std::span<const std::string_view> memmap_on_memory_names();

enum class Arch : uint8_t { X86_64, Arm64, Ppc64, S390x };
std::string_view arch_name(Arch arch);
std::optional<Arch> arch_from_name(std::string_view name);
uint64_t arch_section_size(Arch arch);

// Physical upper bound (exclusive) of each kernel zone on an architecture; Movable has none.
uint64_t arch_zone_limit(Arch arch, Zone zone);

// Whether memory that ends at `end` (exclusive) can be in `zone` on `arch`: DMA and DMA32
// exist only where the architecture has them and hold only memory below their limit; Normal
// and Movable may hold any memory. Configured ranges and saved blocks are both held to this.
enum class ZoneFit : uint8_t { Fits, NoSuchZone, AboveLimit };
ZoneFit zone_fit(Arch arch, Zone zone, uint64_t end);

}  // namespace hotplug
