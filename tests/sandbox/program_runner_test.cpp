// run_program(): exit codes, environment, captured output, closed stdin, timeouts that kill the
// whole process group, and programs that cannot be started.
#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <sstream>
#include <thread>

#include <sys/eventfd.h>
#include <unistd.h>

#include "sandbox/program_runner.h"
#include "sandbox/unique_fd.h"
#include "test_support.h"

namespace sb = hotplugfs::sandbox;
using namespace hotplugfs::sandbox::testing;

namespace {

const std::vector<std::string> kEnv = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};

sb::RunResult sh(const std::string& script, std::chrono::milliseconds timeout = 10000ms) {
    return sb::run_program({{"/bin/sh", "-c", script}, kEnv, "", timeout});
}

std::vector<pid_t> pids_in(const std::string& text) {
    std::istringstream in(text);
    std::vector<pid_t> out;
    for (pid_t pid = 0; in >> pid;) out.push_back(pid);
    return out;
}

}  // namespace

TEST_CASE("run_program reports the exit code", "[runner]") {
    const sb::RunResult ok = sh("exit 0");
    CHECK(ok.exit_status == 0);
    CHECK(ok.spawn_errno == 0);
    CHECK_FALSE(ok.timed_out);
    const sb::RunResult three = sh("exit 3");
    CHECK(three.exit_status == 3);
    CHECK(three.signal == 0);
}

TEST_CASE("run_program reports the signal that ended the program", "[runner]") {
    const sb::RunResult r = sh("kill -TERM $$");
    CHECK(r.exit_status == -1);
    CHECK(r.signal == SIGTERM);
    CHECK_FALSE(r.timed_out);
}

TEST_CASE("run_program passes exactly the given environment", "[runner]") {
    // `env` is found through the PATH of the given environment, not the test's.
    const sb::RunResult r =
        sb::run_program({{"env"}, {"PATH=/usr/bin:/bin", "FOO=bar baz"}, "", 10s});
    REQUIRE(r.exit_status == 0);
    CHECK(r.out == "PATH=/usr/bin:/bin\nFOO=bar baz\n");
}

TEST_CASE("run_program captures stdout and stderr separately", "[runner]") {
    const sb::RunResult r = sh("echo out; echo err >&2; echo more");
    CHECK(r.out == "out\nmore\n");
    CHECK(r.err == "err\n");
    CHECK_FALSE(r.out_truncated);
}

TEST_CASE("run_program caps each stream", "[runner]") {
    const sb::RunResult r = sh("head -c 200000 /dev/zero; echo done >&2");
    CHECK(r.exit_status == 0);
    CHECK(r.out.size() == sb::kRunOutputCap);
    CHECK(r.out_truncated);
    CHECK(r.err == "done\n");
}

TEST_CASE("run_program gives the program /dev/null as stdin and no other descriptors", "[runner]") {
    // A descriptor the caller left inheritable must not reach the program.
    sb::UniqueFd leaky(::open("/dev/null", O_RDONLY));
    REQUIRE(leaky);
    const sb::RunResult r = sh("cat; readlink /proc/$$/fd/0; ls /proc/$$/fd; pwd");
    REQUIRE(r.exit_status == 0);
    CHECK(r.out == "/dev/null\n0\n1\n2\n/\n");
}

TEST_CASE("run_program kills the whole process group at the deadline", "[runner]") {
    const auto start = std::chrono::steady_clock::now();
    const sb::RunResult r = sh("sleep 100 & echo $! $$; sleep 100", 500ms);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK(r.timed_out);
    CHECK(r.exit_status == -1);
    CHECK(r.signal == SIGKILL);
    const std::vector<pid_t> pids = pids_in(r.out);
    REQUIRE(pids.size() == 2);
    for (pid_t pid : pids) CHECK(wait_gone(pid));
}

TEST_CASE("run_program kills the process group when the cancel descriptor fires", "[runner]") {
    sb::UniqueFd cancel(eventfd(0, EFD_CLOEXEC));
    REQUIRE(cancel);
    std::thread trigger([&] {
        std::this_thread::sleep_for(300ms);
        const uint64_t one = 1;
        CHECK(write(cancel.get(), &one, sizeof one) == sizeof one);
    });
    const auto start = std::chrono::steady_clock::now();
    const sb::RunResult r = sb::run_program(
        {{"/bin/sh", "-c", "sleep 100 & echo $! $$; sleep 100"}, kEnv, "", 60000ms, cancel.get()});
    trigger.join();
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK(r.cancelled);
    CHECK_FALSE(r.timed_out);
    CHECK(r.signal == SIGKILL);
    const std::vector<pid_t> pids = pids_in(r.out);
    REQUIRE(pids.size() == 2);
    for (pid_t pid : pids) CHECK(wait_gone(pid));
}

TEST_CASE("run_program kills what the program left running when it exits", "[runner]") {
    const auto start = std::chrono::steady_clock::now();
    const sb::RunResult r = sh("sleep 100 & echo $!");
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK(r.exit_status == 0);
    CHECK_FALSE(r.timed_out);
    const std::vector<pid_t> pids = pids_in(r.out);
    REQUIRE(pids.size() == 1);
    CHECK(wait_gone(pids[0]));
}

TEST_CASE("run_program reports programs that cannot be started", "[runner]") {
    SECTION("a missing absolute path") {
        const sb::RunResult r = sb::run_program({{"/nonexistent/program"}, kEnv, "", 10s});
        CHECK(r.spawn_errno == ENOENT);
        CHECK(r.exit_status == -1);
        CHECK(r.spawn_error.find("/nonexistent/program") != std::string::npos);
    }
    SECTION("a name not found in PATH") {
        const sb::RunResult r = sb::run_program({{"no-such-program-xyz"}, kEnv, "", 10s});
        CHECK(r.spawn_errno == ENOENT);
        CHECK(r.exit_status == -1);
    }
    SECTION("a file that is not executable") {
        TempDir dir;
        write_file(dir.path() / "script", "#!/bin/sh\nexit 0\n");
        const sb::RunResult r =
            sb::run_program({{(dir.path() / "script").string()}, kEnv, "", 10s});
        CHECK(r.spawn_errno == EACCES);
        CHECK(r.exit_status == -1);
    }
    SECTION("an empty command line") {
        const sb::RunResult r = sb::run_program({{}, kEnv, "", 10s});
        CHECK(r.spawn_errno == EINVAL);
    }
}
