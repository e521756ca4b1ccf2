// Finding and reading the rules files of a set of directories.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "udev/rules.h"

namespace hotplugfs::udev {
namespace {

namespace fs = std::filesystem;

// A name pointing at /dev/null hides every file of that name (systemd's masking).
bool is_masked(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    return S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
}

bool read_file(const std::string& path, std::string& text, int& err) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        err = errno != 0 ? errno : EIO;
        return false;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) {
        err = EIO;
        return false;
    }
    text = buf.str();
    return true;
}

}  // namespace

RuleSet load_rules(const std::vector<std::string>& dirs) {
    std::map<std::string, std::string> by_name;  // file name -> path; sorted by name
    for (const auto& dir : dirs) {
        std::error_code ec;
        fs::directory_iterator it(dir, ec);
        if (ec) continue;  // a missing directory is simply empty, as for udevd
        for (const auto& entry : it) {
            std::string name = entry.path().filename().string();
            if (name.empty() || name[0] == '.' || !name.ends_with(".rules")) continue;
            std::error_code tec;
            auto type = entry.symlink_status(tec).type();
            if (type != fs::file_type::regular && type != fs::file_type::symlink) continue;
            by_name[name] = entry.path().string();  // a later directory overrides
        }
    }
    RuleSet rules;
    for (const auto& [name, path] : by_name) {
        if (is_masked(path)) continue;
        std::string text;
        int err = 0;
        errno = 0;
        std::error_code dec;
        if (fs::is_directory(path, dec)) {
            rules.add_error(
                {path, 0, std::string("Failed to read rules file: ") + std::strerror(EISDIR)});
            continue;
        }
        if (!read_file(path, text, err)) {
            rules.add_error(
                {path, 0, std::string("Failed to read rules file: ") + std::strerror(err)});
            continue;
        }
        rules.add_file(path, text);
    }
    return rules;
}

}  // namespace hotplugfs::udev
