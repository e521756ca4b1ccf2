// How bytes and errors are spelled in the report: attribute contents may hold anything (NULs,
// torn lines), so they are escaped before they are printed; errnos are shown by name.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace stress {

// `src` cut to fit `cap` bytes with its terminating NUL (for fixed arrays in shared memory).
void copy_cstr(char* dst, size_t cap, std::string_view src);

// "memory/memory72/state" -> "state"
std::string_view last_component(std::string_view file);

// C-style escapes for control bytes, quotes and backslashes; \xNN for the rest.
std::string escape(std::string_view s);

// "EINVAL", "EBUSY", ... or "errno N"; "success" for 0.
std::string errno_name(int err);

}  // namespace stress
