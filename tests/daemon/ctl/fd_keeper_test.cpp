#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ctl/fd_keeper.h"
#include "ctl/notify_protocol.h"

using namespace hotplugfs;
using namespace hotplugfs::ctl;
using sandbox::UniqueFd;

namespace {

UniqueFd pipe_end(UniqueFd* other = nullptr) {
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    if (other)
        other->reset(fds[1]);
    else
        close(fds[1]);
    return UniqueFd(fds[0]);
}

// What sd_pid_notify_with_fds() sends: the text, and the descriptors in one SCM_RIGHTS.
void send_notify(int socket, const std::string& text, const std::vector<int>& fds) {
    iovec iov{const_cast<char*>(text.data()), text.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
    if (!fds.empty()) {
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    REQUIRE(sendmsg(socket, &msg, 0) == static_cast<ssize_t>(text.size()));
}

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/fd-keeper-test-XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

UniqueFd connected_to(const std::string& path) {
    UniqueFd s(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    REQUIRE(connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    return s;
}

}  // namespace

TEST_CASE("a notification is read line by line, as systemd reads it") {
    const NotifyMessage m = parse_notify_message("FDSTORE=1\nFDNAME=fuse-init\nSTATUS=x=y\n");
    CHECK(m.fdstore);
    CHECK_FALSE(m.fdstore_remove);
    CHECK_FALSE(m.ready);
    CHECK(m.fdpoll);
    CHECK(m.fdname == "fuse-init");
    CHECK(m.fdname_valid);
    CHECK(parse_notify_message("READY=1").ready);
    CHECK_FALSE(parse_notify_message("READY=0").ready);
    CHECK(parse_notify_message("FDSTORE=1").fdname == "stored");
    CHECK_FALSE(parse_notify_message("FDSTORE=1\nFDPOLL=0").fdpoll);
    const NotifyMessage remove = parse_notify_message("FDSTOREREMOVE=1\nFDNAME=fuse");
    CHECK(remove.fdstore_remove);
    CHECK_FALSE(remove.fdstore);
    CHECK_FALSE(parse_notify_message("garbage\nFDSTORE").fdstore);
    CHECK_FALSE(parse_notify_message("FDSTORE=1\nFDNAME=a:b").fdname_valid);
    CHECK_FALSE(parse_notify_message("FDSTORE=1\nFDNAME=").fdname_valid);
    CHECK_FALSE(valid_fd_name(std::string(256, 'a')));
    CHECK(valid_fd_name(std::string(255, 'a')));
    CHECK_FALSE(valid_fd_name("tab\there"));
}

TEST_CASE("the store keeps, removes and names descriptors as sd_listen_fds expects") {
    FdStore store(3);
    std::vector<UniqueFd> fds;
    fds.push_back(pipe_end());
    fds.push_back(pipe_end());
    CHECK(store.apply(parse_notify_message("FDSTORE=1\nFDNAME=fuse"), std::move(fds)) == 2);
    std::vector<UniqueFd> one;
    one.push_back(pipe_end());
    const int init_fd = one.back().get();
    CHECK(store.apply(parse_notify_message("FDSTORE=1\nFDNAME=fuse-init"), std::move(one)) == 1);
    CHECK(store.listen_fdnames() == "fuse:fuse:fuse-init");
    // The same open file sent again is kept once; beyond the maximum nothing more is kept.
    std::vector<UniqueFd> again;
    again.emplace_back(fcntl(init_fd, F_DUPFD_CLOEXEC, 0));
    CHECK(store.apply(parse_notify_message("FDSTORE=1\nFDNAME=copy"), std::move(again)) == 0);
    std::vector<UniqueFd> extra;
    extra.push_back(pipe_end());
    CHECK(store.apply(parse_notify_message("FDSTORE=1\nFDNAME=x"), std::move(extra)) == 0);
    // Without FDSTORE=1, or with a bad name, descriptors are not kept.
    store.apply(parse_notify_message("FDSTOREREMOVE=1\nFDNAME=fuse"), {});
    CHECK(store.listen_fdnames() == "fuse-init");
    std::vector<UniqueFd> unasked;
    unasked.push_back(pipe_end());
    CHECK(store.apply(parse_notify_message("READY=1"), std::move(unasked)) == 0);
    std::vector<UniqueFd> badly_named;
    badly_named.push_back(pipe_end());
    CHECK(store.apply(parse_notify_message("FDSTORE=1\nFDNAME=a:b"), std::move(badly_named)) == 0);
    CHECK(store.size() == 1);
    CHECK(store.contains("fuse-init"));
    CHECK_FALSE(store.contains("fuse"));
}

TEST_CASE("a stored descriptor whose peer is gone is dropped, unless FDPOLL=0") {
    FdStore store;
    UniqueFd write_end, other_write_end, live_write_end;
    std::vector<UniqueFd> hung, unpolled, live;
    hung.push_back(pipe_end(&write_end));
    unpolled.push_back(pipe_end(&other_write_end));
    live.push_back(pipe_end(&live_write_end));
    store.apply(parse_notify_message("FDSTORE=1\nFDNAME=hung"), std::move(hung));
    store.apply(parse_notify_message("FDSTORE=1\nFDNAME=kept\nFDPOLL=0"), std::move(unpolled));
    store.apply(parse_notify_message("FDSTORE=1\nFDNAME=live"), std::move(live));
    CHECK(store.drop_hung().empty());
    write_end.reset();  // the read end now reports POLLHUP
    other_write_end.reset();
    CHECK(store.drop_hung() == std::vector<std::string>{"hung"});
    CHECK(store.listen_fdnames() == "kept:live");
}

TEST_CASE("the keeper takes the descriptors of the daemon's messages only") {
    TempDir dir;
    FdKeeper keeper(dir.path + "/notify");
    struct stat st {};
    REQUIRE(stat(keeper.path().c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);
    const UniqueFd sender = connected_to(keeper.path());
    UniqueFd write_end;
    const UniqueFd kept = pipe_end(&write_end);
    send_notify(sender.get(), "FDSTORE=1\nFDNAME=fuse", {kept.get()});
    // Sent by another process than the daemon: ignored, and its descriptor closed.
    CHECK(keeper.receive(getpid() + 1).size() == 1);
    CHECK(keeper.store().empty());
    send_notify(sender.get(), "FDSTORE=1\nFDNAME=fuse", {kept.get()});
    send_notify(sender.get(), "READY=1", {});
    CHECK(keeper.receive(getpid()).empty());
    REQUIRE(keeper.store().size() == 1);
    CHECK(keeper.store().entries()[0].name == "fuse");
    // The kept copy is the same pipe: what is written to it arrives at the stored end.
    REQUIRE(write(write_end.get(), "x", 1) == 1);
    char c = 0;
    CHECK(read(keeper.store().entries()[0].fd.get(), &c, 1) == 1);
    CHECK(c == 'x');
    CHECK(fcntl(keeper.store().entries()[0].fd.get(), F_GETFD) & FD_CLOEXEC);
    send_notify(sender.get(), "FDSTOREREMOVE=1\nFDNAME=fuse", {});
    keeper.receive(getpid());
    CHECK(keeper.store().empty());
    { FdKeeper gone(dir.path + "/other"); }
    CHECK_FALSE(std::filesystem::exists(dir.path + "/other"));
}

TEST_CASE("a daemon started from the store gets them at 3, 4, ... with LISTEN_* for itself") {
    FdStore store;
    UniqueFd w1, w2;
    std::vector<UniqueFd> a, b;
    a.push_back(pipe_end(&w1));
    b.push_back(pipe_end(&w2));
    store.apply(parse_notify_message("FDSTORE=1\nFDNAME=fuse-init"), std::move(a));
    store.apply(parse_notify_message("FDSTORE=1\nFDNAME=fuse"), std::move(b));
    REQUIRE(write(w1.get(), "1", 1) == 1);
    REQUIRE(write(w2.get(), "2", 1) == 1);
    ListenHandoff handoff(store, {"PATH=/usr/bin:/bin", "LISTEN_FDS=9", "LISTEN_PID=1"});
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (!handoff.in_child()) _exit(10);
        environ = handoff.envp();
        char c1 = 0, c2 = 0;
        if (read(3, &c1, 1) != 1 || read(4, &c2, 1) != 1 || c1 != '1' || c2 != '2') _exit(11);
        if (fcntl(3, F_GETFD) & FD_CLOEXEC || fcntl(4, F_GETFD) & FD_CLOEXEC) _exit(12);
        const char* fds = getenv("LISTEN_FDS");
        const char* names = getenv("LISTEN_FDNAMES");
        const char* pid = getenv("LISTEN_PID");
        if (!fds || std::string(fds) != "2") _exit(13);
        if (!names || std::string(names) != "fuse-init:fuse") _exit(14);
        if (!pid || std::string(pid) != std::to_string(getpid())) _exit(15);
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a daemon started with nothing stored gets no LISTEN_* at all") {
    FdStore store;
    ListenHandoff handoff(store, {"A=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=x:y", "LISTEN_PID=7"});
    REQUIRE(handoff.in_child());
    std::vector<std::string> env;
    for (char** e = handoff.envp(); *e; ++e) env.emplace_back(*e);
    CHECK(env == std::vector<std::string>{"A=1"});
}

TEST_CASE("two opens of one device are two descriptors to keep, a duplicate is one") {
    FdStore store;
    std::vector<UniqueFd> fds;
    fds.emplace_back(open("/dev/null", O_RDWR | O_CLOEXEC));
    fds.emplace_back(open("/dev/null", O_RDWR | O_CLOEXEC));
    fds.emplace_back(fcntl(fds[0].get(), F_DUPFD_CLOEXEC, 0));
    CHECK(store.apply(parse_notify_message("FDSTORE=1\nFDNAME=fuse"), std::move(fds)) == 2);
    CHECK(store.listen_fdnames() == "fuse:fuse");
}
