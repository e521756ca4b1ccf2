#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/mman.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

#include "fuse/inflight_journal.h"

using namespace hotplugfs;

namespace {

std::vector<uint64_t> uniques(const std::vector<InflightRequest>& requests) {
    std::vector<uint64_t> out;
    for (const auto& r : requests) out.push_back(r.unique);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("a request is journaled from its reading to its answer") {
    auto journal = InflightJournal::create();
    journal.record(10, FUSE_READ);
    journal.record(12, FUSE_WRITE);  // the same thread's previous request was dropped unanswered
    journal.answered(12);
    CHECK(journal.take_all().empty());
    journal.record(14, FUSE_LOOKUP);
    const auto left = journal.take_all();
    REQUIRE(left.size() == 1);
    CHECK(left[0].unique == 14);
    CHECK(left[0].opcode == FUSE_LOOKUP);
    CHECK(journal.take_all().empty());  // taken once
}

TEST_CASE("requests that are never answered are not journaled") {
    auto journal = InflightJournal::create();
    for (uint32_t op : {FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_INTERRUPT, FUSE_NOTIFY_REPLY})
        journal.record(100 + op, op);
    CHECK(journal.take_all().empty());
}

TEST_CASE("each thread's request in flight is kept, answered on any thread") {
    auto journal = InflightJournal::create();
    std::vector<std::thread> threads;
    for (uint64_t t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (uint64_t i = 0; i < 1000; ++i) {
                const uint64_t unique = (i * 8 + t + 1) * 2;
                journal.record(unique, FUSE_GETATTR);
                if (i != 999) journal.answered(unique);
            }
        });
    for (auto& t : threads) t.join();
    std::vector<uint64_t> expected;
    for (uint64_t t = 0; t < 8; ++t) expected.push_back((999 * 8 + t + 1) * 2);
    CHECK(uniques(journal.take_all()) == expected);
    // Answered from another thread than the one that read it.
    journal.record(4, FUSE_READ);
    std::thread([&] { journal.answered(4); }).join();
    CHECK(journal.take_all().empty());
}

TEST_CASE("the next daemon reads the journal a dead one left in the memory file") {
    auto journal = InflightJournal::create();
    journal.record(42, FUSE_WRITE);
    std::string why;
    auto next = InflightJournal::adopt(sandbox::UniqueFd(dup(journal.fd())), why);
    REQUIRE(next);
    CHECK(why.empty());
    const auto left = next->take_all();
    REQUIRE(left.size() == 1);
    CHECK(left[0].unique == 42);
    CHECK(left[0].opcode == FUSE_WRITE);
}

TEST_CASE("a memory file that is not a journal is refused") {
    std::string why;
    sandbox::UniqueFd unsealed(memfd_create("x", MFD_CLOEXEC));
    REQUIRE(ftruncate(unsealed.get(), 4096) == 0);
    CHECK_FALSE(InflightJournal::adopt(std::move(unsealed), why));
    CHECK(why.find("sealed") != std::string::npos);
    sandbox::UniqueFd zeros(memfd_create("x", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    REQUIRE(ftruncate(zeros.get(), 4096) == 0);
    REQUIRE(fcntl(zeros.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
    CHECK_FALSE(InflightJournal::adopt(std::move(zeros), why));
    CHECK(why.find("version") != std::string::npos);
}
