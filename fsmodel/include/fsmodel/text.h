// The kernel's text conventions for sysfs stores and shows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fsmodel {

// Stores see a C string: the written bytes up to the first NUL.
std::string_view as_c_string(std::string_view written);
// sysfs_streq: equal, ignoring at most one trailing newline on either side.
bool sysfs_streq(std::string_view a, std::string_view b);
// kstrtobool: nullopt for EINVAL.
std::optional<bool> kstrtobool(std::string_view s);
// kstrtoull with base 0/8/10/16 semantics, one trailing newline allowed. 0 or EINVAL/ERANGE.
int kstrtoull(std::string_view s, unsigned base, uint64_t& out);
int kstrtouint(std::string_view s, unsigned base, unsigned& out);
// "0-1,3" for {0,1,3}.
std::string format_list(const std::vector<int>& ids);
// "%*pb": the ids as a hex mask `nbits` wide, in 32-bit groups separated by ',': "f,00000003".
std::string format_mask(const std::vector<int>& ids, int nbits);

}  // namespace fsmodel
