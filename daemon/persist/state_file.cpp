// The state file on disk: the atomic, durable writer, the start-up load (restore or create)
// and the persistence hook.
#include "persist/state_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "sandbox/safe_open.h"
#include "sandbox/unique_fd.h"

namespace hotplugfs::persist {
namespace {

using sandbox::UniqueFd;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

bool write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        text.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

// The directory part of `path` ("." for a bare name), where the temporary file must live for
// rename() to replace `path` atomically.
std::string directory_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Removes the temporary file unless it was renamed into place.
struct TempFile {
    std::string path;
    bool keep = false;
    ~TempFile() {
        if (!path.empty() && !keep) ::unlink(path.c_str());
    }
};

// nullopt with `error` set to the errno (ENOENT: the file does not exist) and `why` on failure.
// `own_file`: the daemon's own state file, which it also replaces, must be a plain file of its
// user (sandbox::open_own_file); a file to load is read wherever a link leads.
std::optional<std::string> read_file(const std::string& path, bool own_file, int& error,
                                     std::string& why) {
    UniqueFd fd;
    if (own_file) {
        sandbox::OpenedFile opened = sandbox::open_own_file(path, sandbox::OpenFor::Reading);
        fd = std::move(opened.fd);
        error = opened.code;
        why = opened.code == EPERM ? opened.error : std::string("cannot open: ") + opened.error;
    } else {
        fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        error = errno;
        why = errno_text("cannot open");
    }
    if (!fd) return std::nullopt;
    std::string text;
    char buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = errno;
            why = errno_text("cannot read");
            return std::nullopt;
        }
        if (n == 0) return text;
        text.append(buf, static_cast<size_t>(n));
    }
}

std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// ".NAME." for `path`, the start of its temporary files' names. Built by appending: g++ 12 at
// -O3 reports a false -Wrestrict overlap inside `"." + std::string&&` once this is inlined.
std::string temp_prefix(const std::string& path) {
    std::string prefix(1, '.');
    prefix += base_name(path);
    prefix += '.';
    return prefix;
}

// A daemon killed while writing leaves its temporary file (".NAME.XXXXXX") behind; the next
// start removes such leftovers so they do not pile up.
void remove_leftovers(const std::string& path) {
    const std::string dir = directory_of(path), prefix = temp_prefix(path);
    const std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return;
    while (const dirent* e = ::readdir(d.get())) {
        const std::string_view name = e->d_name;
        if (name.size() == prefix.size() + 6 && name.starts_with(prefix))
            ::unlinkat(::dirfd(d.get()), e->d_name, 0);
    }
}

}  // namespace

std::string StateError::message() const {
    std::string line = file + ": " + (json_path.empty() ? "" : json_path + ": ") + reason;
    std::replace(line.begin(), line.end(), '\n', ' ');  // callers print exactly one line
    return line;
}

std::string write_atomically(const std::string& path, std::string_view text, int* error) {
    // Every failure below returns errno_text() at once, so errno is still the failure's.
    auto failed = [error](std::string why) {
        if (error) *error = errno ? errno : EIO;
        return why;
    };
    // rename() replaces a link or a FIFO without following or opening it; refusing them still
    // says at once that something else claims the name.
    if (std::string why = sandbox::check_replaceable(path); !why.empty()) {
        if (error) *error = EPERM;
        return why;
    }
    const std::string dir = directory_of(path);
    TempFile temp{dir + '/' + temp_prefix(path) + "XXXXXX"};
    UniqueFd fd(::mkostemp(temp.path.data(), O_CLOEXEC));
    if (!fd) {
        std::string why = failed(errno_text(("cannot create a temporary file in " + dir).c_str()));
        temp.path.clear();  // nothing was created
        return why;
    }
    // mkostemp creates 0600; the state is no secret, the same as a file written with umask 022.
    if (::fchmod(fd.get(), 0644) != 0) return failed(errno_text("chmod"));
    if (!write_all(fd.get(), text)) return failed(errno_text("write"));
    if (::fsync(fd.get()) != 0) return failed(errno_text("fsync"));
    if (::close(fd.release()) != 0) return failed(errno_text("close"));
    if (::rename(temp.path.c_str(), path.c_str()) != 0) return failed(errno_text("rename"));
    temp.keep = true;
    // The rename itself is durable only once the directory is.
    UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd || ::fsync(dirfd.get()) != 0) return failed(errno_text(("fsync of " + dir).c_str()));
    return {};
}

std::variant<hotplug::Machine, StateError> open(const std::string& path,
                                                const hotplug::MachineSpec& spec,
                                                hotplug::Machine built) {
    int error = 0;
    std::string why;
    const auto text = read_file(path, true, error, why);
    if (!text && error != ENOENT) return StateError{path, "", why};
    remove_leftovers(path);
    if (!text) {
        // A first start: the configuration's machine, and the file from now on.
        if (std::string failed = write_atomically(path, encode(built.snapshot())); !failed.empty())
            return StateError{path, "", "cannot create: " + failed};
        return built;
    }
    auto decoded = decode(*text, path);
    if (auto* err = std::get_if<StateError>(&decoded)) return *err;
    auto restored = hotplug::Machine::restore(spec, std::get<hotplug::MachineSnapshot>(decoded));
    if (!restored) {
        const hotplug::Error& e = restored.error();
        return StateError{path, e.field.empty() ? "/" : e.field,
                          e.message + " (the state does not fit the configured machine)"};
    }
    return std::move(restored.value());
}

std::variant<hotplug::MachineSnapshot, StateError> read(const std::string& path) {
    int error = 0;
    std::string why;
    const auto text = read_file(path, false, error, why);
    if (!text) return StateError{path, "", why, error};
    return decode(*text, path);
}

std::function<int(const hotplug::MachineSnapshot&)> persister(std::string path,
                                                              hotplug::MachineSnapshot current) {
    struct Saved {
        std::string path;
        hotplug::MachineSnapshot last;
        bool failing = false;
    };
    auto saved = std::make_shared<Saved>(Saved{std::move(path), std::move(current)});
    return [saved](const hotplug::MachineSnapshot& snap) {
        if (snap == saved->last) return 0;
        int error = 0;
        if (std::string why = write_atomically(saved->path, encode(snap), &error); !why.empty()) {
            // The change fails with this errno; said once until the file can be written again.
            if (!saved->failing)
                spdlog::error("state file {}: {} (changes fail until it can be written)",
                              saved->path, why);
            saved->failing = true;
            return error;
        }
        if (saved->failing) spdlog::info("state file {}: written again", saved->path);
        saved->failing = false;
        saved->last = snap;
        return 0;
    };
}

}  // namespace hotplugfs::persist
