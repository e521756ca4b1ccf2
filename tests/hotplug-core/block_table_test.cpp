// BlockTable: dense per-block storage, presence, iteration and shrinking on removal.
#include "core_support.h"

#include "hotplug/block_table.h"

using namespace coretest;

namespace {

void add(BlockTable& t, uint64_t id, uint16_t node = 0) {
    Block& b = t.ensure(id);
    b.present = 1;
    b.node = node;
    t.note_added();
}

}  // namespace

TEST_CASE("a new BlockTable is empty", "[block-table]") {
    BlockTable t;
    CHECK(t.count() == 0);
    CHECK(t.capacity() == 0);
    CHECK_FALSE(t.present(0));
    CHECK_FALSE(t.present(UINT64_MAX));
    CHECK_FALSE(t.next_present(0).has_value());
}

TEST_CASE("Block defaults and zone helpers", "[block-table]") {
    Block b;
    CHECK_FALSE(b.present);
    CHECK(b.block_state() == BlockState::Offline);
    CHECK_FALSE(b.online());
    CHECK(b.zone == Block::kNoZone);
    CHECK_FALSE(b.single_zone().has_value());
    CHECK_FALSE(b.multi_zone());
    b.zone = static_cast<uint8_t>(Zone::Movable);
    CHECK(b.single_zone() == Zone::Movable);
    b.zone = Block::kMultiZone;
    CHECK(b.multi_zone());
    CHECK_FALSE(b.single_zone().has_value());
    b.state = static_cast<uint8_t>(BlockState::GoingOffline);
    CHECK(b.online());  // going-offline still reads online=1
    b.node = 65535;
    CHECK(b.node == 65535);
    CHECK(sizeof(Block) == 4);
}

TEST_CASE("ensure makes room, presence needs the flag", "[block-table]") {
    BlockTable t;
    t.ensure(9);
    CHECK(t.capacity() == 10);
    CHECK(t.count() == 0);
    for (uint64_t id = 0; id < 12; ++id) CHECK_FALSE(t.present(id));
    add(t, 3, 1);
    add(t, 9);
    CHECK(t.capacity() == 10);
    CHECK(t.count() == 2);
    CHECK(t.present(3));
    CHECK(t.at(3).node == 1);
    CHECK(t.present(9));
    CHECK_FALSE(t.present(4));
    // ensure below the capacity does not shrink or clear anything.
    t.ensure(2);
    CHECK(t.capacity() == 10);
    CHECK(t.present(3));
}

TEST_CASE("next_present walks present ids in order", "[block-table]") {
    BlockTable t;
    for (uint64_t id : {2ull, 3ull, 7ull, 20ull}) add(t, id);
    CHECK(t.next_present(0) == 2u);
    CHECK(t.next_present(2) == 2u);
    CHECK(t.next_present(3) == 3u);
    CHECK(t.next_present(4) == 7u);
    CHECK(t.next_present(8) == 20u);
    CHECK(t.next_present(20) == 20u);
    CHECK_FALSE(t.next_present(21).has_value());
    CHECK_FALSE(t.next_present(UINT64_MAX).has_value());
    std::vector<uint64_t> seen;
    for (auto id = t.next_present(0); id; id = t.next_present(*id + 1)) seen.push_back(*id);
    CHECK(seen == std::vector<uint64_t>{2, 3, 7, 20});
}

TEST_CASE("remove clears a block and shrinks the tail", "[block-table]") {
    BlockTable t;
    for (uint64_t id : {2ull, 3ull, 7ull, 20ull}) add(t, id);
    REQUIRE(t.capacity() == 21);

    // Removing from the middle keeps the capacity.
    t.remove(3);
    CHECK(t.count() == 3);
    CHECK_FALSE(t.present(3));
    CHECK(t.capacity() == 21);
    CHECK(t.next_present(3) == 7u);

    // Removing an absent id (inside or past the table) changes nothing.
    t.remove(3);
    t.remove(5);
    t.remove(1000);
    CHECK(t.count() == 3);
    CHECK(t.capacity() == 21);

    // Removing the last block drops the absent tail down to the next present block.
    t.remove(20);
    CHECK(t.count() == 2);
    CHECK(t.capacity() == 8);
    CHECK_FALSE(t.present(20));
    CHECK_FALSE(t.next_present(8).has_value());

    // A removed slot comes back cleared when re-added.
    t.at(7).unmovable = 1;
    t.remove(7);
    CHECK(t.capacity() == 3);
    add(t, 7);
    CHECK_FALSE(t.at(7).unmovable);
    CHECK(t.capacity() == 8);

    t.remove(7);
    t.remove(2);
    CHECK(t.count() == 0);
    CHECK(t.capacity() == 0);
    CHECK_FALSE(t.next_present(0).has_value());
}

TEST_CASE("the machine's table shrinks when the top memory is removed", "[block-table]") {
    Machine m = default_machine();
    REQUIRE(m.blocks().capacity() == 136);
    REQUIRE(m.remove_memory(13 * GiB, 4 * GiB).ok());
    CHECK(m.blocks().capacity() == 104);
    CHECK(m.blocks().count() == 96);
    CHECK_FALSE(m.blocks().next_present(104).has_value());
}
