// The planned restart: the daemon executes its binary again in the same process (same PID, so
// a keeper or systemd still knows it), handing what it serves with to the new program. The
// descriptors go over at any number, named in $HOTPLUGFSD_HANDOVER; the new program moves them
// to 3, 4, ... and sets $LISTEN_FDS, $LISTEN_FDNAMES and $LISTEN_PID before anything else, so
// it takes them over exactly as it takes over what a keeper hands back (docs/restarts.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sandbox/unique_fd.h"

namespace hotplugfs::fdstore {

// Handed over by a planned restart, besides "fuse" and "fuse-init" (without them, the socket is
// made anew and the open files' snapshots are taken anew).
inline constexpr const char* kHandlesName = "fuse-handles";  // a sealed memfd: the open files

// What the program was started as. At start-up: once a package upgrade renamed a new binary
// into place, the path names that one, while /proc/self/exe names the deleted old one.
std::string started_executable();

// First thing in main(): true when this program was executed by a handover; its descriptors
// are then passed as a keeper passes them. `detached`: the daemon had left its terminal.
bool accept_handover(bool& detached);

// A sealed memory file holding `bytes` (invalid, and `why` set, on failure).
sandbox::UniqueFd sealed_memfd(const std::string& name, const std::string& bytes, std::string& why);

// Executes `executable` with `argv` in this process, handing over `fds` (name, descriptor).
// Returns only when that failed, saying why; the process is then as it was.
std::string reexec(const std::string& executable, char* const* argv,
                   const std::vector<std::pair<std::string, int>>& fds, bool detached);

}  // namespace hotplugfs::fdstore
