// The module-parameter files: one show, one store and one visibility test serve every row of
// hotplug::param_table(), so a parameter gets its sysfs file from its row alone.
#include <algorithm>

#include "attributes.h"
#include "fsmodel/text.h"

namespace fsmodel::attrs {
namespace {

using hotplug::ParamKind;
using hotplug::ParamSpec;
using hotplug::ParamValue;

// The value a store parses from `s` with the kernel's parser for the kind, or the Outcome that
// refuses it (param_set_bool, param_set_uint, and the word lookups of auto_online_blocks and
// online_policy, which all answer EINVAL).
Outcome parse(const ParamSpec& param, std::string_view s, ParamValue& value) {
    switch (param.kind) {
        case ParamKind::Word:
            for (size_t i = 0; i < param.words.size(); ++i)
                if (sysfs_streq(s, param.words[i])) {
                    value = i;
                    return {};
                }
            return fail(EINVAL, "unknown " + std::string(param.what));
        case ParamKind::Uint: {
            unsigned number = 0;
            if (int err = kstrtouint(s, 0, number)) return fail(err, "not an unsigned int");
            value = number;
            return {};
        }
        case ParamKind::Bool:
        case ParamKind::OptionalBool:
            if (const auto b = kstrtobool(s)) {
                value = *b ? 1 : 0;
                return {};
            }
            return fail(EINVAL, "not a boolean");
    }
    return fail(EINVAL, "not a boolean");
}

}  // namespace

int param_show(const Machine& m, const Ctx& c, std::string& out) {
    const ParamSpec& param = *c.param;
    const uint64_t value = param.get(m.params()).value_or(0);
    switch (param.kind) {
        case ParamKind::Word:
            return text(out, param.word(value));
        case ParamKind::Uint:
            return text(out, std::to_string(value));
        case ParamKind::Bool:
        case ParamKind::OptionalBool:
            if (param.bool_text == hotplug::BoolText::OneZero) return text(out, value ? "1" : "0");
            return text(out, value ? "Y" : "N");
    }
    return EIO;
}

Outcome param_store(Machine& m, const Ctx& c, std::string_view s) {
    ParamValue value;
    if (Outcome refused = parse(*c.param, s, value); !refused.ok()) return refused;
    return m.set_param(*c.param, value);
}

// An optional parameter's file exists only while it is set (crash_hotplug).
bool param_visible(const Machine& m, const Ctx& c) {
    return c.param->get(m.params()).has_value();
}

std::vector<EntrySpec> with_params(hotplug::ParamFile file, std::vector<EntrySpec> entries) {
    for (const ParamSpec& param : hotplug::param_table()) {
        if (param.file != file) continue;
        EntrySpec e = param.runtime ? attr_rw(param.name, param_show, param_store, Dep::Params)
                                    : attr_ro(param.name, param_show);
        e.mode = param.mode;
        e.param = &param;
        if (param.kind == ParamKind::OptionalBool) e.visible = param_visible;
        entries.push_back(e);
    }
    std::sort(entries.begin(), entries.end(),
              [](const EntrySpec& a, const EntrySpec& b) { return a.name < b.name; });
    return entries;
}

}  // namespace fsmodel::attrs
