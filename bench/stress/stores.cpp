// The writers' stores and their predicted results (stores.h).
#include "stores.h"

#include <cerrno>

namespace stress {

const char* state_text(BlockState s) {
    return s == BlockState::Online ? "online\n" : "offline\n";
}

const std::vector<Action>& actions() {
    static const std::vector<Action> list = {
        {true, "online", 0},
        {true, "online\n", 0},
        {true, "offline", 1},
        {true, "offline\n", 1},
        {true, "online_kernel", 2},
        {true, "online_kernel\n", 2},
        {true, "online_movable", 3},
        {true, "online_movable\n", 3},
        {false, "1", 1},
        {false, "1\n", 1},
        {false, "0", 0},
        {false, "0\n", 0},
        {false, "on", 1},
        {false, "on\n", 1},
        {false, "off", 0},
        {false, "off\n", 0},
    };
    return list;
}

Prediction predict(const Action& a, BlockState before) {
    const bool was_online = before == BlockState::Online;
    Prediction p{false, before, 0};
    if (a.to_state) {
        const bool online_word = a.word != 1;
        p.ok = online_word ? !was_online : was_online;
        if (p.ok) p.after = online_word ? BlockState::Online : BlockState::Offline;
    } else {
        p.ok = true;  // `online` stores are no-ops when already there
        p.after = a.word ? BlockState::Online : BlockState::Offline;
    }
    p.want = p.ok ? static_cast<long>(a.text.size()) : -EINVAL;
    return p;
}

}  // namespace stress
