// Opening the files a root daemon writes (--pid-file, --log-file, --event-log, --state, Save)
// when they may sit in a directory others can write, such as /tmp: whoever can create a name
// there can plant a symbolic link to /etc/shadow, a FIFO that blocks open(), or a file of
// their own. The path is looked up once, its last component is never followed, and only a
// plain file of this user with no other name is opened for reading or writing.
#pragma once

#include <sys/stat.h>

#include <string>

#include "sandbox/unique_fd.h"

namespace hotplugfs::sandbox {

// Why the daemon must not use the file `st` (from lstat or an O_PATH fstat) describes, e.g.
// "is a symbolic link; refusing to follow it" or "is owned by uid 65534, not by uid 0"; ""
// when it may.
std::string unsafe_file_reason(const struct stat& st);

struct OpenedFile {
    UniqueFd fd;
    std::string error;  // why not, when !fd: unsafe_file_reason() or the errno's text
    int code = 0;       // and its errno: EPERM for an unsafe file
};

enum class OpenFor {
    Reading,    // an existing file, O_RDONLY
    Appending,  // O_WRONLY | O_APPEND, created with mode 0644 when missing; or /dev/null
};

// Opens `path` as `how` says, or says why not.
OpenedFile open_own_file(const std::string& path, OpenFor how);

// For a file that is replaced by rename() (which never follows a link at the target): "" when
// `path` does not exist or is a file open_own_file() would open, else why not.
std::string check_replaceable(const std::string& path);

}  // namespace hotplugfs::sandbox
