// The sd-bus boundary: a callback (method, property getter, object finder, enumerator) that
// throws fails its call with EIO (org.hotplugfs.Error.EIO), and the daemon logs it and goes on.
// An exception must never unwind through libsystemd's C frames.
#pragma once

#include <systemd/sd-bus.h>

#include <cerrno>
#include <exception>
#include <string>
#include <tuple>
#include <type_traits>

namespace hotplugfs::bus {

void report_callback_exception(const char* what) noexcept;
// Sets `error` to org.hotplugfs.Error.EIO naming `what`; returns -EIO.
int exception_error(sd_bus_error* error, const char* what) noexcept;

template <auto F>
struct BusGuard;

// Every sd-bus callback takes its sd_bus_error* last.
template <class... A, int (*F)(A...)>
struct BusGuard<F> {
    static_assert(std::is_same_v<std::tuple_element_t<sizeof...(A) - 1, std::tuple<A...>>,
                                 sd_bus_error*>);
    static int call(A... args) noexcept {
        sd_bus_error* error = std::get<sizeof...(A) - 1>(std::tie(args...));
        try {
            return F(args...);
        } catch (const std::exception& e) {
            report_callback_exception(e.what());
            return exception_error(error, e.what());
        } catch (...) {
            report_callback_exception("unknown exception");
            return exception_error(error, "unknown exception");
        }
    }
};

template <auto F>
constexpr auto guarded = &BusGuard<F>::call;

}  // namespace hotplugfs::bus
