// The stores the writers make and what each must do (spec §4): the table of every text written
// to `state` and `online`, and the prediction of a store's result from the state it meets.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace stress {

enum class BlockState : uint8_t { Offline = 0, Online = 1 };

// "online\n" or "offline\n": what `state` reads in `s`.
const char* state_text(BlockState s);

// `word` for `state`: 0 online, 1 offline, 2 online_kernel, 3 online_movable; for `online`:
// 1 true, 0 false.
struct Action {
    bool to_state;  // writes `state` (else `online`)
    std::string_view text;
    int word;
};

// Every store a writer picks from, with and without the trailing newline.
const std::vector<Action>& actions();

struct Prediction {
    bool ok;           // the store succeeds (else fails EINVAL)
    BlockState after;  // the block's state once it returned
    long want;         // the write() result: the byte count, or -EINVAL
};

// What `a` does to a block in state `before`.
Prediction predict(const Action& a, BlockState before);

}  // namespace stress
