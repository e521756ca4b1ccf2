// The sd-bus boundary: errno names, and a callback that throws fails with
// org.hotplugfs.Error.EIO instead of unwinding into libsystemd.
#include <catch2/catch.hpp>

#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "bus_api/bus_errors.h"
#include "bus/bus_guard.h"

using namespace hotplugfs::bus;

namespace {

int throws(sd_bus_message*, void*, sd_bus_error*) { throw std::runtime_error("boom"); }
int returns_two(sd_bus_message*, void*, sd_bus_error*) { return 2; }

}  // namespace

TEST_CASE("error names are the project's, by errno") {
    CHECK(error_name(EINVAL) == "org.hotplugfs.Error.EINVAL");
    CHECK(error_name(EHWPOISON) == "org.hotplugfs.Error.EHWPOISON");
}

TEST_CASE("a guarded callback that throws fails with EIO and a message") {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    CHECK(guarded<throws>(nullptr, nullptr, &error) == -EIO);
    REQUIRE(error.name);
    CHECK(std::string(error.name) == "org.hotplugfs.Error.EIO");
    CHECK(std::string(error.message).find("boom") != std::string::npos);
    sd_bus_error_free(&error);
    sd_bus_error ok = SD_BUS_ERROR_NULL;
    CHECK(guarded<returns_two>(nullptr, nullptr, &ok) == 2);
    CHECK(ok.name == nullptr);
}
