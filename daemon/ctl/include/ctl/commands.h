// hotplugctl's commands: a table of name, arguments, help and handler.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ctl/client.h"

namespace hotplugfs::ctl {

using Args = std::vector<std::string>;
struct Command;

// What a command runs with: the output mode and, connected on first use, the daemon.
struct Context {
    const Command* command = nullptr;
    bool json = false;
    Target target;
    mutable std::unique_ptr<Client> connection;
    Client& client() const {
        if (!connection) connection = std::make_unique<Client>(target);
        return *connection;
    }
};

struct Command {
    const char* name;
    const char* args;
    const char* help;
    int (*run)(const Context& c, const Args& args);
};

// Ends with a null entry.
extern const Command kCommands[];

}  // namespace hotplugfs::ctl
