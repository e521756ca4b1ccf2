// hotplugfs-floor: the smallest exact FUSE file system, as a floor for hotplugfs-bench.
//
//   hotplugfs-floor [--mt] MOUNTPOINT       (stays in the foreground; SIGTERM unmounts)
//
// One directory with two small read-only files, answered with the libfuse3 low-level API:
//   state       "online\n"    opened with FOPEN_DIRECT_IO: every read is a READ round trip
//   phys_index  "00000005\n"  opened with FOPEN_KEEP_CACHE: the page cache serves the reads
// LOOKUP and GETATTR answer with one-year entry and attribute timeouts; OPEN, READ and
// RELEASE are the only other requests handled. Every open reaches the server, so this is what
// any exact FUSE file system (one that sees each open) costs at least on the machine.
// Without --mt the session loop is single-threaded (fuse_session_loop); with --mt it is
// fuse_session_loop_mt with libfuse's default configuration.
#define FUSE_USE_VERSION 314
#include <fuse3/fuse_lowlevel.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

constexpr double kForever = 365.0 * 24 * 3600;

struct File {
    fuse_ino_t ino;
    const char* name;
    std::string_view content;
    bool direct_io;
};

constexpr File kFiles[] = {
    {2, "state", "online\n", true},
    {3, "phys_index", "00000005\n", false},
};

const File* file_of(fuse_ino_t ino) {
    for (const File& f : kFiles)
        if (f.ino == ino) return &f;
    return nullptr;
}

struct stat attr_of(fuse_ino_t ino) {
    struct stat st {};
    st.st_ino = ino;
    if (ino == FUSE_ROOT_ID) {
        st.st_mode = S_IFDIR | 0555;
        st.st_nlink = 2;
    } else if (const File* f = file_of(ino)) {
        st.st_mode = S_IFREG | 0444;
        st.st_nlink = 1;
        st.st_size = static_cast<off_t>(f->content.size());
    }
    return st;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    if (parent == FUSE_ROOT_ID)
        for (const File& f : kFiles)
            if (std::strcmp(name, f.name) == 0) {
                fuse_entry_param e {};
                e.ino = f.ino;
                e.attr = attr_of(f.ino);
                e.attr_timeout = kForever;
                e.entry_timeout = kForever;
                fuse_reply_entry(req, &e);
                return;
            }
    fuse_reply_err(req, ENOENT);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    if (ino != FUSE_ROOT_ID && !file_of(ino)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    const struct stat st = attr_of(ino);
    fuse_reply_attr(req, &st, kForever);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    const File* f = file_of(ino);
    if (!f) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        fuse_reply_err(req, EACCES);
        return;
    }
    fi->noflush = 1;
    (f->direct_io ? fi->direct_io : fi->keep_cache) = 1;
    fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    const File* f = file_of(ino);
    if (!f) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    if (off < 0 || static_cast<size_t>(off) >= f->content.size()) {
        fuse_reply_buf(req, nullptr, 0);
        return;
    }
    const size_t n = std::min(size, f->content.size() - static_cast<size_t>(off));
    fuse_reply_buf(req, f->content.data() + off, n);
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    fuse_reply_err(req, 0);
}

}  // namespace

int main(int argc, char** argv) {
    bool mt = false;
    const char* mountpoint = nullptr;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--mt") == 0) {
            mt = true;
        } else if (argv[i][0] != '-' && !mountpoint) {
            mountpoint = argv[i];
        } else {
            std::fprintf(stderr, "usage: hotplugfs-floor [--mt] MOUNTPOINT\n");
            return 2;
        }
    }
    if (!mountpoint) {
        std::fprintf(stderr, "usage: hotplugfs-floor [--mt] MOUNTPOINT\n");
        return 2;
    }
    fuse_lowlevel_ops ops {};
    ops.lookup = op_lookup;
    ops.getattr = op_getattr;
    ops.open = op_open;
    ops.read = op_read;
    ops.release = op_release;

    char arg0[] = "hotplugfs-floor", arg1[] = "-o", arg2[] = "fsname=hotplugfs-floor";
    char* fargv[] = {arg0, arg1, arg2, nullptr};
    fuse_args args = FUSE_ARGS_INIT(3, fargv);
    fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
    if (!se) return 1;
    int rc = 1;
    if (fuse_set_signal_handlers(se) == 0) {
        if (fuse_session_mount(se, mountpoint) == 0) {
            if (mt) {
                fuse_loop_config* cfg = fuse_loop_cfg_create();
                rc = fuse_session_loop_mt(se, cfg);
                fuse_loop_cfg_destroy(cfg);
            } else {
                rc = fuse_session_loop(se);
            }
            fuse_session_unmount(se);
        }
        fuse_remove_signal_handlers(se);
    }
    fuse_session_destroy(se);
    return rc == 0 ? 0 : 1;
}
