// KnownInodes: lookup counts minus forgets decide which inodes get notifications; memory grows
// with the inodes' range, not with the number of lookups.
#include <catch2/catch.hpp>

#include "fuse/known_inodes.h"

using hotplugfs::KnownInodes;

TEST_CASE("KnownInodes counts lookups and forgets") {
    KnownInodes k;
    CHECK_FALSE(k.known(42));
    k.looked_up(42);
    k.looked_up(42);
    CHECK(k.known(42));
    k.forget(42, 1);
    CHECK(k.known(42));
    k.forget(42, 1);
    CHECK_FALSE(k.known(42));
    k.forget(42, 5);  // more forgets than lookups: stays at zero
    CHECK_FALSE(k.known(42));
    k.forget(7, 1);  // never looked up: nothing allocated
    CHECK_FALSE(k.known(7));
}

TEST_CASE("KnownInodes saturates instead of wrapping, and never forgets a saturated inode") {
    KnownInodes k;
    for (int i = 0; i < 1000; ++i) k.looked_up(9);
    k.forget(9, 1000);
    CHECK(k.known(9));
}

TEST_CASE("KnownInodes memory follows the inode range, not the lookups") {
    KnownInodes k;
    for (int i = 0; i < 100000; ++i) k.looked_up(1 + i % 1000);
    CHECK(k.chunk_count() == 1);
    k.looked_up(uint64_t{1} << 40);  // a block's inode far away: one more chunk
    CHECK(k.chunk_count() == 2);
    CHECK_FALSE(k.known((uint64_t{1} << 40) + 1));
}
