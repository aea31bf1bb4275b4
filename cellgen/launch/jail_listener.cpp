#include "jail_listener.hpp"
#include "error.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/nsfs.h>
#include <netinet/in.h>
#include <optional>
#include <sched.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace launch {

namespace {

// The parent pid in /proc/PID/stat: the field after the state, which follows
// the last ')' (the command name in parentheses may hold any byte).
std::optional<pid_t> parent_of(pid_t pid) {
    Fd f(::open(fmt::format("/proc/{}/stat", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!f) {
        return std::nullopt;
    }
    char buf[1024];
    auto n = ::read(f.get(), buf, sizeof buf);
    if (n <= 0) {
        return std::nullopt;
    }
    std::string_view text(buf, static_cast<size_t>(n));
    auto close = text.rfind(')');
    // ") S PPID ..."
    if (close == std::string_view::npos || close + 4 >= text.size()) {
        return std::nullopt;
    }
    auto rest = text.substr(close + 4);
    pid_t ppid = 0;
    if (std::from_chars(rest.data(), rest.data() + rest.size(), ppid).ec != std::errc{}) {
        return std::nullopt;
    }
    return ppid;
}

bool same_namespace(int fd, const char* own) {
    struct stat a;
    struct stat b;
    return ::fstat(fd, &a) == 0 && ::stat(own, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

// Runs in the joiner child, which may change its namespaces freely: the
// listening socket, or what failed.
std::string make_listener(int userns, int netns, const cellgen::JailListen& where, int& out) {
    // Only the user namespace that owns the network namespace gives the
    // right to enter it; root in a cell that shares the host's user
    // namespace is there already.
    if (userns >= 0 && ::setns(userns, CLONE_NEWUSER) != 0) {
        return fmt::format("cannot enter the jail's user namespace: {}", std::strerror(errno));
    }
    if (::setns(netns, CLONE_NEWNET) != 0) {
        return fmt::format("cannot enter the jail's network namespace: {}", std::strerror(errno));
    }
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return fmt::format("socket: {}", std::strerror(errno));
    }
    // bwrap brings lo up on its own schedule; the address need not exist
    // yet (IP_FREEBIND), only by the time the command connects, after bwrap
    // has set everything up.
    int one = 1;
    ::setsockopt(s, SOL_IP, IP_FREEBIND, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(where.port));
    if (::inet_pton(AF_INET, where.address.c_str(), &addr.sin_addr) != 1) {
        return fmt::format("'{}' is not an IPv4 address", where.address);
    }
    if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        return fmt::format("bind: {}", std::strerror(errno));
    }
    if (::listen(s, 4096) != 0) {
        return fmt::format("listen: {}", std::strerror(errno));
    }
    out = s;
    return {};
}

// One message: the socket as SCM_RIGHTS with a single byte, or the error text.
void send_result(int channel, int fd, const std::string& error) {
    char ok = 'k';
    iovec iov{};
    msghdr msg{};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (error.empty()) {
        iov = {&ok, 1};
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    } else {
        iov = {const_cast<char*>(error.data()), error.size()};
    }
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    [[maybe_unused]] auto n = ::sendmsg(channel, &msg, MSG_NOSIGNAL);
}

Fd receive_result(int channel, const std::string& what) {
    char text[512];
    iovec iov{text, sizeof text};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        throw_errno(what + ": reading the joiner's answer");
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return Fd(fd);
        }
    }
    if (n == 0) {
        throw SetupError(what + ": the joiner ended without an answer");
    }
    throw SetupError(fmt::format("{}: {}", what, std::string_view(text, static_cast<size_t>(n))));
}

} // namespace

Fd listen_in_jail(pid_t sandbox, pid_t keeper, const cellgen::JailListen& where) {
    auto what = fmt::format("listening on {}:{} in the jail", where.address, where.port);
    Fd netns(::open(fmt::format("/proc/{}/ns/net", sandbox).c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns) {
        throw_errno(fmt::format("{}: cannot open the network namespace of bwrap's process {}", what,
                                sandbox));
    }
    // Checked after the open: a process that is bwrap's child now was that
    // when we opened its namespace (bwrap has no other child, the keeper no
    // other than bwrap), so a pid reused in between is caught here.
    auto parent = parent_of(sandbox);
    auto grandparent = parent ? parent_of(*parent) : std::nullopt;
    if (!grandparent || *grandparent != keeper) {
        throw SetupError(
            fmt::format("{}: process {} is no longer bwrap's (bwrap ended early?)", what, sandbox));
    }
    if (same_namespace(netns.get(), "/proc/self/ns/net")) {
        throw SetupError(fmt::format("{}: the jail shares the host's network namespace (the "
                                     "port would be the host's); bwrap needs --unshare-net",
                                     what));
    }
    Fd userns(::ioctl(netns.get(), NS_GET_USERNS));
    if (!userns) {
        throw_errno(what + ": cannot find the user namespace that owns the jail's network");
    }
    if (same_namespace(userns.get(), "/proc/self/ns/user")) {
        userns.reset();
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        throw_errno(what + ": socketpair");
    }
    Fd ours(pair[0]);
    Fd theirs(pair[1]);
    pid_t joiner = ::fork();
    if (joiner < 0) {
        throw_errno(what + ": cannot fork");
    }
    if (joiner == 0) {
        int fd = -1;
        auto error = make_listener(userns ? userns.get() : -1, netns.get(), where, fd);
        send_result(theirs.get(), fd, error);
        ::_exit(0);
    }
    theirs.reset(); // the joiner's end: EOF once it is gone
    Fd listener;
    try {
        listener = receive_result(ours.get(), what);
    } catch (...) {
        ::waitpid(joiner, nullptr, 0);
        throw;
    }
    ::waitpid(joiner, nullptr, 0);
    return listener;
}

} // namespace launch
