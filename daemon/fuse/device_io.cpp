#define FUSE_USE_VERSION 312
#include "fuse/device_io.h"

#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fuse/fuse_server.h"
#include "fuse/inflight_journal.h"

namespace hotplugfs {
namespace {

// Not in every <linux/fuse.h> yet (protocol 7.40, Linux 6.9).
constexpr int kNotifyResend = 7;
constexpr uint64_t kUniqueResend = 1ull << 63;
// FUSE_HAS_RESEND, bit 39 of INIT's flags: bit 7 of flags2, which FUSE_INIT_EXT makes valid.
constexpr uint32_t kInitExt = 1u << 30;
constexpr uint32_t kHasResend2 = 1u << (39 - 32);
// The replayed INIT's answer is never written, so its id cannot meet a real request's.
constexpr uint64_t kReplayUnique = 2;

thread_local bool tl_resent = false;

DeviceIo& io_of(void* userdata) {
    return static_cast<FuseServer*>(userdata)->device_io();
}

ssize_t hook_read(int fd, void* buf, size_t len, void* userdata) {
    return io_of(userdata).read(fd, buf, len);
}

ssize_t hook_writev(int fd, iovec* iov, int count, void* userdata) {
    return io_of(userdata).writev(fd, iov, count);
}

std::string gather(const iovec* iov, int count) {
    std::string out;
    for (int i = 0; i < count; ++i)
        out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    return out;
}

// An answer without its header's request id, which differs between the original and a replay.
std::string without_unique(std::string reply) {
    if (reply.size() >= sizeof(fuse_out_header)) {
        auto* out = reinterpret_cast<fuse_out_header*>(reply.data());
        out->unique = 0;
    }
    return reply;
}

}  // namespace

const fuse_custom_io& DeviceIo::hooks() {
    static const fuse_custom_io io{hook_writev, hook_read, nullptr, nullptr};
    return io;
}

ssize_t DeviceIo::read(int fd, void* buf, size_t len) {
    const ssize_t res = ::read(fd, buf, len);
    if (res < static_cast<ssize_t>(sizeof(fuse_in_header))) return res;
    const auto* in = static_cast<const fuse_in_header*>(buf);
    tl_resent = (in->unique & kUniqueResend) != 0;
    if (journal_) journal_->record(in->unique, in->opcode);
    if (in->opcode == FUSE_INIT && !init_answered_.load(std::memory_order_acquire)) {
        std::lock_guard lock(mu_);
        init_.request.assign(static_cast<const char*>(buf), static_cast<size_t>(res));
        init_unique_ = in->unique;
    }
    return res;
}

ssize_t DeviceIo::writev(int fd, iovec* iov, int count) {
    // libfuse puts the answer's header alone in the first element.
    const auto* out = static_cast<const fuse_out_header*>(iov[0].iov_base);
    if (replaying_.load(std::memory_order_acquire)) {
        std::lock_guard lock(mu_);
        init_.reply = gather(iov, count);
        return static_cast<ssize_t>(init_.reply.size());
    }
    if (out->unique != 0 && !init_answered_.load(std::memory_order_acquire)) {
        std::lock_guard lock(mu_);
        if (!init_.request.empty() && out->unique == init_unique_) {
            init_.reply = gather(iov, count);
            init_answered_.store(true, std::memory_order_release);
        }
    }
    const ssize_t res = ::writev(fd, iov, count);
    // Answered or refused (the request was interrupted and is gone): not in flight any more.
    if (journal_) journal_->answered(out->unique);
    return res;
}

std::optional<InitExchange> DeviceIo::init_exchange() const {
    if (!init_answered_.load(std::memory_order_acquire)) return std::nullopt;
    std::lock_guard lock(mu_);
    return init_;
}

std::string DeviceIo::replay_init(fuse_session* se, const InitExchange& init) {
    if (init.request.size() < sizeof(fuse_in_header) + sizeof(fuse_init_in) ||
        init.reply.size() < sizeof(fuse_out_header))
        return "the recorded INIT is truncated";
    std::string request = init.request;
    auto* in = reinterpret_cast<fuse_in_header*>(request.data());
    if (in->opcode != FUSE_INIT || in->len != request.size())
        return "the recorded INIT is not an INIT request";
    in->unique = kReplayUnique;
    fuse_buf buf{};
    buf.size = request.size();
    buf.mem = request.data();
    {
        std::lock_guard lock(mu_);
        init_ = InitExchange{init.request, {}};
        init_unique_ = 0;
    }
    replaying_.store(true, std::memory_order_release);
    fuse_session_process_buf(se, &buf);
    replaying_.store(false, std::memory_order_release);
    std::lock_guard lock(mu_);
    if (init_.reply.empty()) return "libfuse did not answer the replayed INIT";
    const bool same = without_unique(init_.reply) == without_unique(init.reply);
    init_.reply = init.reply;  // what the kernel holds
    init_answered_.store(true, std::memory_order_release);
    if (!same) return "this daemon answers INIT differently than the daemon that mounted";
    return "";
}

int DeviceIo::request_resend(int fd) {
    fuse_out_header out{};
    out.len = sizeof out;
    out.error = kNotifyResend;
    out.unique = 0;  // a notification, not an answer
    if (::write(fd, &out, sizeof out) == static_cast<ssize_t>(sizeof out)) return 0;
    return errno;
}

bool DeviceIo::kernel_resends(const InitExchange& init) {
    if (init.request.size() < sizeof(fuse_in_header) + sizeof(fuse_init_in)) return false;
    fuse_init_in in{};
    std::memcpy(&in, init.request.data() + sizeof(fuse_in_header), sizeof in);
    return (in.flags & kInitExt) && (in.flags2 & kHasResend2);
}

int DeviceIo::answer_error(int fd, uint64_t unique, int error) {
    fuse_out_header out{};
    out.len = sizeof out;
    out.error = -error;
    out.unique = unique;
    if (::write(fd, &out, sizeof out) == static_cast<ssize_t>(sizeof out)) return 0;
    return errno;
}

bool DeviceIo::handling_resent() {
    return tl_resent;
}

}  // namespace hotplugfs
