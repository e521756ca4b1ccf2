// Request handlers. Each one replies exactly once; errors become -errno only here.
#include "fuse/fuse_ops.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fuse/fuse_server.h"
#include "fuse/request_guard.h"
#include "fuse/session_loop.h"
#include "support/test_fault.h"

namespace hotplugfs {
namespace {

// Files change only through this daemon, which invalidates what changed: cache forever.
constexpr double kForever = 365.0 * 24 * 3600;

FuseServer& server(fuse_req_t req) { return *static_cast<FuseServer*>(fuse_req_userdata(req)); }

struct stat to_stat(const fsmodel::Stat& s) {
    struct stat st{};
    st.st_ino = s.ino;
    st.st_mode = s.mode;
    st.st_nlink = s.nlink;
    st.st_size = static_cast<off_t>(s.size);
    st.st_blksize = 4096;
    st.st_mtim.tv_sec = s.mtime_ns / 1000000000;
    st.st_mtim.tv_nsec = s.mtime_ns % 1000000000;
    st.st_atim = st.st_mtim;
    st.st_ctim = st.st_mtim;
    return st;
}

void op_init(void* userdata, fuse_conn_info* conn) {
    auto want = [&](unsigned cap) {
        if (conn->capable & cap) conn->want |= cap;
    };
    want(FUSE_CAP_AUTO_INVAL_DATA);
    want(FUSE_CAP_CACHE_SYMLINKS);
    want(FUSE_CAP_PARALLEL_DIROPS);
    // A listing answers the lookups of its entries in the same round trip (lsmem lists every
    // block directory, then reads its files). Not _AUTO: the kernel would only use it for
    // directories it has seen looked up in, which a first scan has not.
    want(FUSE_CAP_READDIRPLUS);
    conn->want &= ~(FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_WRITEBACK_CACHE |
                    FUSE_CAP_EXPLICIT_INVAL_DATA);
    // open(O_TRUNC): the OPEN carries it (one round trip, and check_open refuses it on
    // read-only files), so a size change is a truncate().
    want(FUSE_CAP_ATOMIC_O_TRUNC);
    static_cast<FuseServer*>(userdata)->set_truncate_in_open(conn->want & FUSE_CAP_ATOMIC_O_TRUNC);
    conn->time_gran = 1;
}

fuse_entry_param entry_of(const fsmodel::Stat& st) {
    fuse_entry_param e{};
    e.ino = st.ino;
    e.attr = to_stat(st);
    e.attr_timeout = kForever;
    e.entry_timeout = kForever;
    return e;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    FuseServer& s = server(req);
    test_fault::check(std::string("lookup:") + name);
    fsmodel::Stat st;
    bool may_appear = true;
    const int err = s.live().read([&](const auto& m, const auto& tree) {
        const int e = tree.lookup(m, parent, name, st);
        if (e == ENOENT) may_appear = tree.may_appear(parent, name);
        return e;
    });
    if (err == ENOENT && !may_appear) {
        // A name that can never exist here: a negative entry the kernel keeps (ino 0) saves the
        // round trip of every later stat() of it. Names that may appear are asked every time.
        fuse_entry_param e{};
        e.entry_timeout = kForever;
        fuse_reply_entry(req, &e);
        return;
    }
    if (err) {
        fuse_reply_err(req, err);
        return;
    }
    const fuse_entry_param e = entry_of(st);
    s.known().looked_up(st.ino);
    fuse_reply_entry(req, &e);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    server(req).known().forget(ino, nlookup);
    fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    for (size_t i = 0; i < count; ++i) server(req).known().forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

void reply_attr(fuse_req_t req, fuse_ino_t ino) {
    fsmodel::Stat st;
    const int err = server(req).live().read(
        [&](const auto& m, const auto& tree) { return tree.getattr(m, ino, st); });
    if (err) {
        fuse_reply_err(req, err);
        return;
    }
    const struct stat out = to_stat(st);
    fuse_reply_attr(req, &out, kForever);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) { reply_attr(req, ino); }

// Without an OPEN that carries it (a kernel without atomic O_TRUNC), open(O_TRUNC) reaches us only as a size
// change, so a size change is refused on files without a store, as kernfs_fop_open refuses
// opening them for writing. Otherwise a size change is a truncate(), which kernfs accepts and
// ignores (for root, whom the mode bits do not stop) like it does on writable files.
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat*, int to_set, fuse_file_info*) {
    if ((to_set & FUSE_SET_ATTR_SIZE) && !server(req).truncate_in_open()) {
        const int err = server(req).live().read(
            [&](const auto& m, const auto& tree) { return tree.check_truncate(m, ino); });
        if (err) {
            fuse_reply_err(req, err);
            return;
        }
    }
    reply_attr(req, ino);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
    std::string target;
    const int err = server(req).live().read(
        [&](const auto& m, const auto& tree) { return tree.readlink(m, ino, target); });
    if (err) {
        fuse_reply_err(req, err);
        return;
    }
    fuse_reply_readlink(req, target.c_str());
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    FuseServer& s = server(req);
    const int mode = fi->flags & O_ACCMODE;
    bool is_volatile = false;
    const int err = s.live().read([&](const auto& m, const auto& tree) {
        is_volatile = tree.is_volatile(m, ino);
        return tree.check_open(m, ino, mode != O_WRONLY, mode != O_RDONLY);
    });
    if (err) {
        fuse_reply_err(req, err);
        return;
    }
    fi->noflush = 1;
    // Writers bypass the page cache in both modes: a buffered write keeps its page locked until
    // the store returns, and a store that waits (an offline that migrates) would make every
    // reader of the file wait on that page. In the exact mode readers of files that can change
    // bypass it too and read the snapshot their open description took, like kernfs's seq_file;
    // in the page-cache mode (--fast) readers keep the cache, which invalidations keep true.
    if (mode != O_RDONLY || (is_volatile && !s.options().fast)) {
        fi->direct_io = 1;
        fi->fh = s.open_snapshot();
    } else {
        fi->keep_cache = 1;
    }
    if (fuse_reply_open(req, fi) != 0 && fi->fh) s.close_snapshot(fi->fh);
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    if (fi->fh) server(req).close_snapshot(fi->fh);
    fuse_reply_err(req, 0);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    if (test_fault::listed("stall:read")) {
        SessionLoop::step_aside();
        while (!server(req).stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string content;
    if (fi && fi->fh) {
        const int err = server(req).read_snapshot(fi->fh, ino, size, off, content);
        if (err) {
            fuse_reply_err(req, err);
            return;
        }
        fuse_reply_buf(req, content.data(), content.size());
        return;
    }
    const int err = server(req).live().read(
        [&](const auto& m, const auto& tree) { return tree.read(m, ino, content); });
    if (err) {
        fuse_reply_err(req, err);
        return;
    }
    if (off < 0 || static_cast<size_t>(off) >= content.size()) {
        fuse_reply_buf(req, nullptr, 0);
        return;
    }
    const size_t n = std::min(size, content.size() - static_cast<size_t>(off));
    fuse_reply_buf(req, content.data() + off, n);
}

// A slow offline waits inside the WRITE; a signal to the writer arrives as INTERRUPT.
class RequestInterrupt {
public:
    RequestInterrupt(fuse_req_t req, FuseServer& server) : req_(req), server_(server) {
        fuse_req_interrupt_func(req_, &RequestInterrupt::on_interrupt, this);
    }
    ~RequestInterrupt() { fuse_req_interrupt_func(req_, nullptr, nullptr); }
    RequestInterrupt(const RequestInterrupt&) = delete;
    RequestInterrupt& operator=(const RequestInterrupt&) = delete;

    // Sleeps up to `ms` (-1: no limit); true if interrupted. Wakes for shutdown too.
    bool wait(int64_t ms) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        std::unique_lock lock(mu_);
        while (!interrupted_ && !server_.stopping()) {
            auto slice = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
            if (ms >= 0 && deadline <= slice) {
                cv_.wait_until(lock, deadline, [&] { return interrupted_; });
                return interrupted_;
            }
            cv_.wait_until(lock, slice, [&] { return interrupted_; });
        }
        return true;
    }

private:
    static void on_interrupt(fuse_req_t, void* self) {
        auto* me = static_cast<RequestInterrupt*>(self);
        std::lock_guard lock(me->mu_);
        me->interrupted_ = true;
        me->cv_.notify_all();
    }

    fuse_req_t req_;
    FuseServer& server_;
    std::mutex mu_;  // guards interrupted_
    std::condition_variable cv_;
    bool interrupted_ = false;
};

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t,
              fuse_file_info*) {
    FuseServer& s = server(req);
    // Sent before a takeover and resent: the daemon that read it may have applied it. Applied
    // twice, "online" would fail EINVAL and a probe would add memory twice; its outcome is
    // unknown, which is EIO.
    if (DeviceIo::handling_resent()) {
        fuse_reply_err(req, EIO);
        return;
    }
    LiveMachine::WriteResult r;
    {
        RequestInterrupt interrupt(req, s);
        // A write waits (for another operation, a slow offline, the disk) off the reading
        // thread, so that reads go on meanwhile.
        LiveMachine::Waiter waiter{[&](int64_t ms) { return interrupt.wait(ms); },
                                    &SessionLoop::step_aside};
        r = s.live().write_file(ino, std::string_view(buf, size), waiter);
    }
    // The invalidations went out inside write_file (FuseServer::on_invalidations), before this
    // reply: attribute-only, they take no page locks, safe while this writer holds its page.
    if (r.result < 0) {
        fuse_reply_err(req, static_cast<int>(-r.result));
        return;
    }
    fuse_reply_write(req, static_cast<size_t>(r.result));
}

// The end of READDIR and READDIRPLUS alike: the error or the entries; and when the reader got
// everything in one reply it may never ask again for the (empty) end, so the completer reads it
// to the end for them and the kernel keeps the listing cached.
void reply_listing(fuse_req_t req, FuseServer& s, fuse_ino_t ino, int err,
                   const std::vector<char>& buf, size_t used, bool complete, uint64_t end_offset) {
    if (err) {
        fuse_reply_err(req, err);
        return;
    }
    const pid_t requester = fuse_req_ctx(req)->pid;  // req is gone once answered
    fuse_reply_buf(req, buf.data(), used);
    if (complete && used > 0) s.complete_listing(ino, end_offset, requester);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    FuseServer& s = server(req);
    std::vector<char> buf(size);
    size_t used = 0;
    bool complete = false;
    uint64_t end_offset = 0;
    auto fill = [&](std::string_view name, uint64_t child, uint32_t mode, uint64_t next) {
        struct stat st{};
        st.st_ino = child;
        st.st_mode = mode;
        const std::string n(name);
        const size_t need = fuse_add_direntry(req, nullptr, 0, n.c_str(), nullptr, 0);
        if (used + need > size) return false;
        fuse_add_direntry(req, buf.data() + used, size - used, n.c_str(), &st,
                          static_cast<off_t>(next));
        used += need;
        end_offset = next;
        return true;
    };
    const int err = s.live().read([&](const auto& m, const auto& tree) {
        return tree.readdir(m, ino, static_cast<uint64_t>(off), fill, &complete);
    });
    reply_listing(req, s, ino, err, buf, used, complete, end_offset);
}

// READDIRPLUS: each entry also answers its lookup (the kernel counts it as one, so it is
// counted here as one, and only for entries that fit; "." and ".." carry no inode).
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    FuseServer& s = server(req);
    std::vector<char> buf(size);
    std::vector<uint64_t> linked;
    size_t used = 0;
    bool complete = false;
    uint64_t end_offset = 0;
    const int err = s.live().read([&](const auto& m, const auto& tree) {
        auto fill = [&](std::string_view name, uint64_t child, uint32_t mode, uint64_t next) {
            const std::string n(name);
            fuse_entry_param e{};
            const bool dot = n == "." || n == "..";
            fsmodel::Stat st;
            if (dot || tree.getattr(m, child, st) != 0) {
                e.attr.st_ino = child;
                e.attr.st_mode = mode;
            } else {
                e = entry_of(st);
            }
            const size_t need = fuse_add_direntry_plus(req, nullptr, 0, n.c_str(), nullptr, 0);
            if (used + need > size) return false;
            fuse_add_direntry_plus(req, buf.data() + used, size - used, n.c_str(), &e,
                                   static_cast<off_t>(next));
            used += need;
            end_offset = next;
            if (e.ino) linked.push_back(e.ino);
            return true;
        };
        return tree.readdir(m, ino, static_cast<uint64_t>(off), fill, &complete);
    });
    // Counted before the reply: a FORGET for them may follow it at once.
    if (!err)
        for (uint64_t child : linked) s.known().looked_up(child);
    reply_listing(req, s, ino, err, buf, used, complete, end_offset);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
    struct statvfs st{};
    st.f_bsize = 4096;
    st.f_frsize = 4096;
    st.f_namemax = 255;
    fuse_reply_statfs(req, &st);
}

void op_opendir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    fuse_reply_err(req, ENOSYS);  // no OPENDIR from now on; the kernel caches listings
}

void refuse_eperm(fuse_req_t req) { fuse_reply_err(req, EPERM); }
void op_mkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { refuse_eperm(req); }
void op_unlink(fuse_req_t req, fuse_ino_t, const char*) { refuse_eperm(req); }
void op_rmdir(fuse_req_t req, fuse_ino_t, const char*) { refuse_eperm(req); }
void op_symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { refuse_eperm(req); }
void op_rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
    refuse_eperm(req);
}
void op_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { refuse_eperm(req); }
void op_mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) {
    fuse_reply_err(req, EACCES);
}
void op_create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) {
    fuse_reply_err(req, EACCES);
}

fuse_lowlevel_ops make_ops() {
    fuse_lowlevel_ops ops{};
    ops.init = op_init;
    ops.lookup = guarded<op_lookup>;
    ops.forget = guarded_noreply<op_forget>;
    ops.forget_multi = guarded_noreply<op_forget_multi>;
    ops.getattr = guarded<op_getattr>;
    ops.setattr = guarded<op_setattr>;
    ops.readlink = guarded<op_readlink>;
    ops.mknod = guarded<op_mknod>;
    ops.mkdir = guarded<op_mkdir>;
    ops.unlink = guarded<op_unlink>;
    ops.rmdir = guarded<op_rmdir>;
    ops.symlink = guarded<op_symlink>;
    ops.rename = guarded<op_rename>;
    ops.link = guarded<op_link>;
    ops.open = guarded<op_open>;
    ops.release = guarded<op_release>;
    ops.read = guarded<op_read>;
    ops.write = guarded<op_write>;
    ops.opendir = guarded<op_opendir>;
    ops.readdir = guarded<op_readdir>;
    ops.readdirplus = guarded<op_readdirplus>;
    ops.statfs = guarded<op_statfs>;
    ops.create = guarded<op_create>;
    return ops;
}

}  // namespace

void report_request_exception(const char* what) noexcept {
    try {
        spdlog::error("a FUSE request failed with an exception (answered EIO): {}", what);
    } catch (...) {
    }
}

const fuse_lowlevel_ops& fuse_operations() {
    static const fuse_lowlevel_ops ops = make_ops();
    return ops;
}

}  // namespace hotplugfs
