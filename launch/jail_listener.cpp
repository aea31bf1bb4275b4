#include "launch/jail_listener.hpp"
#include "launch/children.hpp"
#include "launch/setup_error.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <optional>
#include <sched.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace launch {

namespace {

bool same_namespace(int fd, const char* own) {
    struct stat a;
    struct stat b;
    return ::fstat(fd, &a) == 0 && ::stat(own, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

// What the joiner reports: the step that failed, errno and which listener,
// or nothing. It shares our memory (CLONE_VM) and fd table (CLONE_FILES), so
// the sockets are ours as soon as they exist, and it must not allocate: it
// only makes system calls and writes into the arrays the caller sized.
struct JoinResult {
    const char* failed = "the joiner did not run";
    int error = 0;
    std::size_t at = 0; // the listener that failed
};

struct JoinRequest {
    int userns; // -1: stay in our user namespace
    int netns;
    const sockaddr_in* addrs;
    int* fds; // one per address, -1 until made
    std::size_t count;
    JoinResult result;
};

bool is_loopback(const sockaddr_in& a) {
    return (ntohl(a.sin_addr.s_addr) >> 24) == 127;
}

// The address as a /32 on the jail's lo (a labelled secondary address, as
// `ip addr add A/32 dev lo label lo:cell` makes); EEXIST is fine.
bool add_to_lo(const sockaddr_in& a) {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return false;
    }
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, "lo:cell", sizeof "lo:cell");
    std::memcpy(&ifr.ifr_addr, &a, sizeof a);
    bool ok = ::ioctl(s, SIOCSIFADDR, &ifr) == 0 || errno == EEXIST;
    if (ok) {
        sockaddr_in mask{};
        mask.sin_family = AF_INET;
        mask.sin_addr.s_addr = 0xffffffffU;
        std::memcpy(&ifr.ifr_netmask, &mask, sizeof mask);
        ok = ::ioctl(s, SIOCSIFNETMASK, &ifr) == 0;
    }
    int err = errno;
    ::close(s);
    errno = err;
    return ok;
}

int join_and_listen(void* arg) {
    auto& req = *static_cast<JoinRequest*>(arg);
    std::size_t i = 0;
    auto fail = [&](const char* step) {
        req.result = {step, errno, i};
        for (std::size_t j = 0; j < req.count; ++j) {
            if (req.fds[j] >= 0) {
                ::close(req.fds[j]);
                req.fds[j] = -1;
            }
        }
        return 0;
    };
    // Only the user namespace that owns the network namespace gives the
    // right to enter it; root in a cell that shares the host's user
    // namespace is there already. Our credentials and namespaces are this
    // task's own: the launcher's do not change.
    if (req.userns >= 0 && ::setns(req.userns, CLONE_NEWUSER) != 0) {
        return fail("cannot enter the jail's user namespace");
    }
    if (::setns(req.netns, CLONE_NEWNET) != 0) {
        return fail("cannot enter the jail's network namespace");
    }
    for (; i < req.count; ++i) {
        if (!is_loopback(req.addrs[i]) && !add_to_lo(req.addrs[i])) {
            return fail("cannot give the jail's lo the address");
        }
    }
    for (i = 0; i < req.count; ++i) {
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) {
            return fail("socket");
        }
        req.fds[i] = s;
        // bwrap brings lo up on its own schedule; the address need not exist
        // yet (IP_FREEBIND), only by the time the command connects, after
        // bwrap has set everything up.
        int one = 1;
        ::setsockopt(s, SOL_IP, IP_FREEBIND, &one, sizeof one);
        if (::bind(s, reinterpret_cast<const sockaddr*>(&req.addrs[i]), sizeof req.addrs[i]) != 0) {
            return fail("bind");
        }
        if (::listen(s, 4096) != 0) {
            return fail("listen");
        }
    }
    req.result = {nullptr, 0, 0};
    return 0;
}

} // namespace

std::vector<Fd> listen_in_jail(pid_t sandbox, pid_t keeper,
                               const std::vector<cellgen::JailListen>& where) {
    auto name = [&](std::size_t i) {
        return fmt::format("listening on {}:{} in the jail", where[i].address, where[i].port);
    };
    const auto what = where.empty() ? std::string("listening in the jail") : name(0);
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
    std::vector<sockaddr_in> addrs(where.size());
    std::vector<int> fds(where.size(), -1);
    for (std::size_t i = 0; i < where.size(); ++i) {
        addrs[i].sin_family = AF_INET;
        addrs[i].sin_port = htons(static_cast<uint16_t>(where[i].port));
        if (::inet_pton(AF_INET, where[i].address.c_str(), &addrs[i].sin_addr) != 1) {
            throw SetupError(
                fmt::format("{}: '{}' is not an IPv4 address", name(i), where[i].address));
        }
    }
    // One task of our own, for every listener: it shares our memory and fd
    // table and runs while we wait (as posix_spawn's child does); setns
    // changes only its own namespaces, and nothing is copied.
    JoinRequest req{
        userns ? userns.get() : -1, netns.get(), addrs.data(), fds.data(), where.size(), {}};
    std::vector<char> stack(64 * 1024);
    pid_t joiner = ::clone(join_and_listen, stack.data() + stack.size(),
                           CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &req);
    if (joiner < 0) {
        throw_errno(what + ": cannot start the joiner");
    }
    ::waitpid(joiner, nullptr, 0);
    if (req.result.failed != nullptr) {
        throw SetupError(fmt::format("{}: {}: {}", name(std::min(req.result.at, where.size() - 1)),
                                     req.result.failed, std::strerror(req.result.error)));
    }
    std::vector<Fd> listeners;
    for (int fd : fds) {
        listeners.emplace_back(fd);
    }
    return listeners;
}

} // namespace launch
