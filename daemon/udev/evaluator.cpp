// Applying assignments and running a RuleSet over an event (udev_rules_apply_to_event).
#include <algorithm>
#include <cstring>

#include "udev/evaluator.h"
#include "udev/format.h"

namespace hotplugfs::udev {
namespace {

std::string strip_newlines(std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

void assign_env(EventState& st, const Token& t) {
    if (t.value.empty()) {
        if (t.op != Op::Add) st.erase_property(t.attr);
        return;
    }
    std::string value = apply_format(st, t.value);
    if (st.esc == Escape::Replace) replace_chars(value, "");
    const std::string* old = st.property(t.attr);
    if (t.op == Op::Add && old != nullptr) value = *old + " " + value;
    st.set_property(t.attr, value);
}

void assign_tag(EventState& st, const Token& t) {
    std::string tag = apply_format(st, t.value);
    if (t.op == Op::Assign) st.out.tags.clear();
    auto& tags = st.out.tags;
    if (tag.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
        std::string::npos) {
        st.log("Invalid tag name '" + tag + "', ignoring");
        return;
    }
    auto it = std::find(tags.begin(), tags.end(), tag);
    if (t.op == Op::Remove) {
        if (it != tags.end()) tags.erase(it);
    } else if (tag.empty()) {
        st.log("Failed to add tag '': Invalid argument");
    } else if (it == tags.end()) {
        tags.push_back(tag);
    }
}

void assign_attr(EventState& st, const Token& t) {
    std::string value = apply_format(st, t.value);
    int err = st.device.write_attr(st.devpath, t.attr, value);
    if (err != 0) {
        // udevd writes with WRITE_STRING_FILE_VERIFY_ON_FAILURE: a refused write of the value the
        // file already holds (e.g. "online" to an online block) counts as success.
        std::optional<std::string> now = st.device.read_attr(st.devpath, t.attr);
        if (now && strip_newlines(*now) == strip_newlines(value)) err = 0;
    }
    const RuleLine* line = st.line();
    st.out.attr_writes.push_back({st.file() != nullptr ? st.file()->path : std::string(),
                                  line != nullptr ? line->number : 0, t.attr, value, err});
    if (err != 0)
        st.log("Failed to write ATTR{/sys" + st.devpath + "/" + t.attr +
               "}, ignoring: " + std::strerror(err));
}

void assign_run(EventState& st, const Token& t) {
    if (st.run_final) return;
    if (t.op == Op::AssignFinal) st.run_final = true;
    if (t.op == Op::Assign || t.op == Op::AssignFinal) st.run_list.clear();
    st.run_list.emplace_back(apply_format(st, t.value), t.type == TokenType::ARunBuiltin);
}

}  // namespace

void apply_assignment(EventState& st, const Token& t) {
    switch (t.type) {
        case TokenType::AOptionsStringEscapeNone:
            st.esc = Escape::None;
            break;
        case TokenType::AOptionsStringEscapeReplace:
            st.esc = Escape::Replace;
            break;
        case TokenType::ATag:
            assign_tag(st, t);
            break;
        case TokenType::AEnv:
            assign_env(st, t);
            break;
        case TokenType::AAttr:
            assign_attr(st, t);
            break;
        case TokenType::ASysctl:
            st.log("SYSCTL{" + t.attr + "} cannot be written here, ignoring");
            break;
        case TokenType::AName:
            if (st.property("IFINDEX") == nullptr)
                st.log("Only network interfaces can be renamed, ignoring NAME=\"" + t.value +
                       "\".");
            break;
        case TokenType::ARunBuiltin:
        case TokenType::ARunProgram:
            assign_run(st, t);
            break;
        default:
            break;  // OWNER, GROUP, MODE, SYMLINK, SECLABEL, other OPTIONS: nothing to do
    }
}

namespace {

// Evaluates one line; returns the index of the next line to evaluate.
std::size_t apply_line(EventState& st, const RuleFile& file, std::size_t index) {
    const RuleLine& line = file.lines[index];
    unsigned mask = kHasGoto | kUpdatesSomething;
    const std::string* action = st.property("ACTION");
    if (action == nullptr || *action != "remove") {
        if (st.has_devnum()) mask |= kHasDevlink;
        if (st.property("IFINDEX") != nullptr) mask |= kHasName;
    }
    if ((line.flags & mask) == 0) return index + 1;
    st.esc = Escape::Unset;
    st.set_position(&file, &line);
    bool parents_done = false;
    bool recorded = false;
    for (std::size_t i = 0; i < line.tokens.size(); ++i) {
        const Token& t = line.tokens[i];
        if (is_parent_type(t.type)) {
            if (parents_done) continue;
            if (!match_parents(st, line.tokens, i)) return index + 1;
            parents_done = true;
        } else if (is_match_type(t.type)) {
            if (!match_token(st, t, st.devpath)) return index + 1;
        } else {
            if (!recorded) st.out.matched.push_back({file.path, line.number, line.text});
            recorded = true;
            apply_assignment(st, t);
        }
    }
    if (!recorded) st.out.matched.push_back({file.path, line.number, line.text});
    return line.goto_target ? *line.goto_target : index + 1;
}

}  // namespace

RuleOutcome apply_rules(const RuleSet& rules, const Event& event, DeviceAccess& device) {
    EventState st(event, device);
    for (const RuleFile& file : rules.files()) {
        std::size_t i = 0;
        while (i < file.lines.size()) i = apply_line(st, file, i);
    }
    for (auto& [cmd, builtin] : st.run_list)
        (builtin ? st.out.run_builtin : st.out.run).push_back(cmd);
    return std::move(st.out);
}

}  // namespace hotplugfs::udev
