// The FUSE boundary: a request handler that throws answers its request EIO (a FORGET, which
// has no answer, is just ended), and the daemon logs it and goes on serving. Handlers throw
// only before they reply: everything after a reply is noexcept or guarded itself.
#pragma once

#include "fuse/fuse_ops.h"

namespace hotplugfs {

void report_request_exception(const char* what) noexcept;

template <auto Op>
struct RequestGuard;

template <class... A, void (*Op)(fuse_req_t, A...)>
struct RequestGuard<Op> {
    static void call(fuse_req_t req, A... args) noexcept {
        try {
            Op(req, args...);
        } catch (const std::exception& e) {
            report_request_exception(e.what());
            fuse_reply_err(req, EIO);
        } catch (...) {
            report_request_exception("unknown exception");
            fuse_reply_err(req, EIO);
        }
    }
    // FORGET and BATCH_FORGET are answered with no reply.
    static void call_noreply(fuse_req_t req, A... args) noexcept {
        try {
            Op(req, args...);
        } catch (const std::exception& e) {
            report_request_exception(e.what());
            fuse_reply_none(req);
        } catch (...) {
            report_request_exception("unknown exception");
            fuse_reply_none(req);
        }
    }
};

template <auto Op>
constexpr auto guarded = &RequestGuard<Op>::call;
template <auto Op>
constexpr auto guarded_noreply = &RequestGuard<Op>::call_noreply;

}  // namespace hotplugfs
