// The parameter table drives the model: every row writable at run time is set through
// set_param and survives a snapshot and restore; every other row is refused and is the
// configuration's, so a snapshot that differs in it does not restore.
#include "no_effect.h"

using namespace coretest;

TEST_CASE("every parameter row: set_param, snapshot and restore follow the table", "[params]") {
    const MachineSpec spec = default_machine_spec();
    for (const ParamSpec& param : param_table()) {
        INFO(param.name);
        CHECK(find_param(param.name) == &param);
        Machine m = make(spec);
        const ParamValue before = param.get(m.params());
        // A value other than the default, valid for the kind.
        const uint64_t other = param.kind == ParamKind::Word
                                   ? (before.value_or(0) + 1) % param.words.size()
                               : param.kind == ParamKind::Uint ? before.value_or(0) + 7
                                                               : !before.value_or(0);
        Outcome o = m.set_param(param, other);
        if (!param.runtime) {
            CHECK(o.error.code == EINVAL);
            CHECK(param.get(m.params()) == before);
            MachineSnapshot snap = m.snapshot();
            param.set(snap.params, other);
            auto restored = Machine::restore(spec, snap);
            REQUIRE_FALSE(restored.ok());
            CHECK(restored.error().field == "/params/" + std::string(param.name));
            continue;
        }
        REQUIRE(o.ok());
        CHECK(o.changes.params);
        CHECK(param.get(m.params()) == ParamValue(other));
        auto restored = Machine::restore(spec, m.snapshot());
        REQUIRE(restored.ok());
        CHECK(param.get(restored->params()) == ParamValue(other));
        // Out of the kind's range: EINVAL, nothing changed.
        const uint64_t bad = param.kind == ParamKind::Word   ? param.words.size()
                             : param.kind == ParamKind::Uint ? uint64_t{UINT_MAX} + 1
                                                             : 2;
        CHECK(m.set_param(param, bad).error.code == EINVAL);
        CHECK(param.get(m.params()) == ParamValue(other));
        if (param.kind == ParamKind::Word) CHECK(param.find_word(param.word(other)) == other);
    }
}
