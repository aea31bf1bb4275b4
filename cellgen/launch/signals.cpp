#include "signals.hpp"
#include "error.hpp"

#include <cerrno>
#include <csignal>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <vector>

namespace launch {

namespace {

sigset_t handled_set() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
        sigaddset(&set, sig);
    }
    return set;
}

} // namespace

Signals::Signals() {
    sigset_t set = handled_set();
    sigset_t blocked = set;
    sigaddset(&blocked, SIGPIPE);
    if (::sigprocmask(SIG_BLOCK, &blocked, nullptr) != 0) {
        throw_errno("cannot block signals");
    }
    fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) {
        throw_errno("cannot make a signalfd");
    }
}

std::optional<int> Signals::wait(const std::vector<int>& fds, std::vector<bool>& ready,
                                 std::optional<std::chrono::milliseconds> timeout) {
    std::vector<pollfd> pfds;
    pfds.push_back({fd_.get(), POLLIN, 0});
    for (int fd : fds) {
        pfds.push_back({fd, POLLIN, 0});
    }
    int ms = timeout ? static_cast<int>(std::max<long long>(timeout->count(), 0)) : -1;
    int n = ::poll(pfds.data(), pfds.size(), ms);
    if (n < 0 && errno != EINTR) {
        throw_errno("poll");
    }
    ready.assign(fds.size(), false);
    for (size_t i = 0; i < fds.size(); ++i) {
        ready[i] = n > 0 && (pfds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    }
    signalfd_siginfo info;
    if (n > 0 && (pfds[0].revents & POLLIN) &&
        ::read(fd_.get(), &info, sizeof info) == sizeof info) {
        return static_cast<int>(info.ssi_signo);
    }
    return std::nullopt;
}

void Signals::unblock_all_in_child() {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

int shell_status(int wait_status) {
    if (WIFSIGNALED(wait_status)) {
        return 128 + WTERMSIG(wait_status);
    }
    return WEXITSTATUS(wait_status);
}

} // namespace launch
