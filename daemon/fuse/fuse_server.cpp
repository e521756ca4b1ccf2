#include "fuse/fuse_server.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>
#include <thread>

#include "fuse/fuse_ops.h"
#include "fuse/session_loop.h"
#include "support/test_fault.h"

namespace hotplugfs {
namespace {

// Frees fuse_args on every path out of run().
struct ArgsGuard {
    fuse_args args = FUSE_ARGS_INIT(0, nullptr);
    ~ArgsGuard() { fuse_opt_free_args(&args); }
};

// A daemon's handles are numbered from the boot clock's nanoseconds at its start: a previous
// daemon on the same connection started earlier and opened fewer files than nanoseconds
// passed until it died, so its handles, which the kernel may still use, are all below ours.
uint64_t first_handle() {
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec) + 1;
}

// SIGHUP: a handover is asked for; the session loop looks every 50 ms.
std::atomic<bool> g_handover_asked{false};
void on_sighup(int) { g_handover_asked = true; }

constexpr std::string_view kHandlesMagic = "hotplugfs-fuse-handles 1\n";

// "<number><end>" at `pos`, moving past it; false if there is none.
bool take_number(const std::string& s, size_t& pos, char end, long long& out) {
    const auto [ptr, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), out);
    if (ec != std::errc() || ptr == s.data() + s.size() || *ptr != end) return false;
    pos = static_cast<size_t>(ptr - s.data()) + 1;
    return true;
}

}  // namespace

FuseServer::FuseServer(LiveMachine& live, FuseOptions options)
    : live_(live), options_(options), notifier_(known_), next_fh_(first_handle()) {
    live_.subscribe(*this);
}

FuseServer::~FuseServer() = default;

uint64_t FuseServer::open_snapshot() {
    std::lock_guard lock(snapshots_mu_);
    const uint64_t fh = next_fh_++;
    snapshots_.emplace(fh, std::nullopt);
    return fh;
}

void FuseServer::close_snapshot(uint64_t fh) {
    std::lock_guard lock(snapshots_mu_);
    snapshots_.erase(fh);
}

int FuseServer::read_snapshot(uint64_t fh, fuse_ino_t ino, size_t size, off_t off,
                              std::string& out) {
    std::lock_guard lock(snapshots_mu_);
    auto it = snapshots_.find(fh);
    // A file opened before a takeover: its snapshot died with that daemon, take a new one.
    if (it == snapshots_.end() && adopt_handles_ && fh < next_fh_)
        it = snapshots_.emplace(fh, std::nullopt).first;
    if (it == snapshots_.end()) return EBADF;
    if (off == 0 || !it->second) {
        std::string content;
        const int err = live_.read(
            [&](const auto& m, const auto& tree) { return tree.read(m, ino, content); });
        if (err) return err;
        it->second = std::move(content);
    }
    const std::string& snap = *it->second;
    out = off >= 0 && static_cast<size_t>(off) < snap.size() ? snap.substr(off, size) : "";
    return 0;
}

bool FuseServer::stopping() const {
    return se_ == nullptr || fuse_session_exited(se_) != 0 || ending_waits_;
}

void FuseServer::set_handover(std::function<void()> handover, std::chrono::milliseconds patience) {
    handover_ = std::move(handover);
    patience_ = patience;
}

// Text, one "next N" line, then per handle "FH LEN" (-1: no snapshot yet) and LEN bytes.
std::string FuseServer::export_handles() {
    std::lock_guard lock(snapshots_mu_);
    std::string out(kHandlesMagic);
    out += "next " + std::to_string(next_fh_) + '\n';
    for (const auto& [fh, snap] : snapshots_) {
        out += std::to_string(fh) + ' ' + (snap ? std::to_string(snap->size()) : "-1") + '\n';
        if (snap) out += *snap;
    }
    return out;
}

bool FuseServer::import_handles(const std::string& bytes) {
    if (!bytes.starts_with(kHandlesMagic)) return false;
    size_t pos = kHandlesMagic.size();
    long long next = 0;
    if (bytes.compare(pos, 5, "next ") != 0) return false;
    pos += 5;
    if (!take_number(bytes, pos, '\n', next) || next < 0) return false;
    std::unordered_map<uint64_t, std::optional<std::string>> snapshots;
    while (pos < bytes.size()) {
        long long fh = 0, len = 0;
        if (!take_number(bytes, pos, ' ', fh) || !take_number(bytes, pos, '\n', len) || fh < 0)
            return false;
        if (len < 0) {
            snapshots.emplace(static_cast<uint64_t>(fh), std::nullopt);
            continue;
        }
        if (bytes.size() - pos < static_cast<size_t>(len)) return false;
        snapshots.emplace(static_cast<uint64_t>(fh), bytes.substr(pos, static_cast<size_t>(len)));
        pos += static_cast<size_t>(len);
    }
    std::lock_guard lock(snapshots_mu_);
    snapshots_ = std::move(snapshots);
    next_fh_ = std::max(next_fh_, static_cast<uint64_t>(next));
    return true;
}

std::optional<FuseConnection> FuseServer::connection() const {
    auto init = io_.init_exchange();
    if (!init || !se_) return std::nullopt;
    return FuseConnection{fuse_session_fd(se_), std::move(*init), journal_ ? journal_->fd() : -1,
                          resumed_, journal_kept_};
}

void FuseServer::open_journal(sandbox::UniqueFd handed_back) {
    if (handed_back) {
        std::string why;
        journal_ = InflightJournal::adopt(std::move(handed_back), why);
        journal_kept_ = journal_.has_value();
        if (!journal_) spdlog::warn("ignoring the journal of requests in flight handed back: {}", why);
    }
    if (!journal_) {
        try {
            journal_.emplace(InflightJournal::create());
        } catch (const std::exception& e) {
            // Serving goes on; only a restart on a kernel that cannot resend is less safe.
            spdlog::warn("no journal of requests in flight: {}", e.what());
            return;
        }
    }
    io_.set_journal(&*journal_);
}

void FuseServer::answer_left_requests(const std::string& mountpoint, int fd,
                                      const InitExchange& init) {
    const std::vector<InflightRequest> left = journal_ ? journal_->take_all()
                                                       : std::vector<InflightRequest>{};
    const bool resends = DeviceIo::kernel_resends(init) && !test_fault::listed("no-resend");
    const int err = resends ? DeviceIo::request_resend(fd) : EOPNOTSUPP;
    if (err == 0) {
        spdlog::info("took over {}; the kernel resends what was left unanswered", mountpoint);
        return;
    }
    // The kernel keeps them on the connection until answered: EIO, since the previous daemon
    // may or may not have applied them (what it persisted is what this daemon serves).
    size_t answered = 0;
    for (const auto& r : left) {
        if (DeviceIo::answer_error(fd, r.unique, EIO) == 0) ++answered;
        spdlog::debug("answered request {} (opcode {}) EIO", r.unique, r.opcode);
    }
    spdlog::warn("took over {}; this kernel cannot resend ({}): {} request(s) left unanswered "
                 "failed EIO",
                 mountpoint, std::strerror(err), answered);
}

bool FuseServer::attach(const std::string& mountpoint, std::optional<FuseResume>& resume) {
    if (!resume) {
        if (fuse_session_mount(se_, mountpoint.c_str()) != 0) {
            spdlog::error("cannot mount on {}", mountpoint);
            return false;
        }
        // The same descriptor, read and written through DeviceIo from now on.
        if (fuse_session_custom_io(se_, &DeviceIo::hooks(), fuse_session_fd(se_)) != 0) {
            spdlog::error("cannot serve {} through the daemon's device I/O", mountpoint);
            fuse_session_unmount(se_);
            return false;
        }
        open_journal({});
        return true;
    }
    const int fd = resume->fd.get();
    if (fuse_session_custom_io(se_, &DeviceIo::hooks(), fd) != 0) {
        spdlog::error("cannot serve the connection handed over for {}", mountpoint);
        return false;
    }
    resume->fd.release();  // the session closes it
    resumed_ = true;
    if (const std::string why = io_.replay_init(se_, resume->init); !why.empty()) {
        spdlog::error("cannot take over {}: {}", mountpoint, why);
        return false;
    }
    // Nothing is known of what the kernel cached from the previous daemon: every change is
    // invalidated, and files it opened are still read.
    known_.assume_all_known();
    adopt_handles_ = true;
    if (!resume->handles.empty() && !import_handles(resume->handles))
        spdlog::warn("the open files' handles handed over are unreadable: their reads start anew");
    open_journal(std::move(resume->inflight));
    answer_left_requests(mountpoint, fd, resume->init);
    return true;
}

int FuseServer::serve() {
    if (handover_) {
        // In place of libfuse's, which ends the session.
        struct sigaction sa {};
        sa.sa_handler = on_sighup;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGHUP, &sa, nullptr);
    }
    SessionLoop::Pause pause;
    if (handover_) {
        pause.requested = [this] { return g_handover_asked && serving_; };
        pause.patience = patience_;
        pause.impatient = [this] { ending_waits_ = true; };
    }
    for (;;) {
        SessionLoop loop(se_, options_.max_threads, pause);
        const int rc = loop.run();
        if (!loop.paused() || fuse_session_exited(se_)) return rc;
        g_handover_asked = false;
        handover_();  // returns only when it failed: serve on
        ending_waits_ = false;
    }
}

int FuseServer::run(const std::string& mountpoint, const std::function<void()>& on_ready,
                    std::optional<FuseResume> resume) {
    ArgsGuard a;
    std::string opts = "fsname=hotplugfs,subtype=hotplugfs";
    // Only the mounting user may use a mount without allow_other. When that user is root,
    // the kernel's mode check grants everything the daemon does not refuse itself, and it
    // costs a GETATTR on every open of a file whose attributes were just invalidated.
    if (options_.allow_other || geteuid() != 0) opts += ",default_permissions";
    if (options_.allow_other) opts += ",allow_other";
    for (const char* arg : {"hotplugfsd", "-o", opts.c_str()}) fuse_opt_add_arg(&a.args, arg);
    if (options_.debug) fuse_opt_add_arg(&a.args, "-d");

    se_ = fuse_session_new(&a.args, &fuse_operations(), sizeof(fuse_lowlevel_ops), this);
    if (!se_) {
        spdlog::error("cannot create the FUSE session");
        return 1;
    }
    int rc = 1;
    if (fuse_set_signal_handlers(se_) != 0) {
        spdlog::error("cannot install signal handlers");
    } else if (!attach(mountpoint, resume)) {
        fuse_remove_signal_handlers(se_);
    } else {
        notifier_.attach(se_);
        completer_ = std::make_unique<ListingCompleter>(mountpoint, [this](uint64_t ino) {
            return live_.read([&](const auto& m, const auto& tree) { return tree.path_of(m, ino); });
        });
        completer_->start();
        // The mount answers once the loop below serves; confirm it from the outside.
        std::thread probe([&] {
            struct stat st{};
            const std::string path = mountpoint + "/devices/system/memory";
            if (stat(path.c_str(), &st) == 0) {
                on_ready();  // first: a daemon that detached logs this to syslog, not the terminal
                serving_ = true;
                spdlog::info("serving {}", mountpoint);
            } else {
                spdlog::error("the mount at {} does not answer", mountpoint);
            }
        });
        rc = serve();
        probe.join();
        notifier_.stop();
        completer_->stop();
        fuse_session_unmount(se_);
        // libfuse unmounts only what it mounted; lazily, like it, and only if still there.
        if (resumed_ && umount2(mountpoint.c_str(), MNT_DETACH) != 0 && errno != EINVAL)
            spdlog::warn("cannot unmount {}: {}", mountpoint, std::strerror(errno));
        fuse_remove_signal_handlers(se_);
        spdlog::info("unmounted {}", mountpoint);
        rc = rc < 0 ? 1 : 0;
    }
    fuse_session_destroy(se_);  // aborts the connection: a completer read in flight fails now
    se_ = nullptr;
    if (completer_) completer_->join();
    completer_.reset();
    return rc;
}

}  // namespace hotplugfs
