#include "launch/signals.hpp"
#include "launch/setup_error.hpp"

#include <cerrno>
#include <csignal>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <vector>

namespace launch {

namespace {

bool ignored(int sig) {
    struct sigaction sa {};
    return ::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

// What the signalfd reads: SIGCHLD, and INT, TERM and HUP unless the caller
// ignored them (a blocked signal is queued even when ignored, so those are
// left out rather than read and acted on).
sigset_t handled_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        if (!ignored(sig)) {
            sigaddset(&set, sig);
        }
    }
    return set;
}

} // namespace

void block_signals_at_start() {
    // An ignored SIGCHLD would reap our children for us: waitpid needs it.
    ::signal(SIGCHLD, SIG_DFL);
    sigset_t blocked;
    sigemptyset(&blocked);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) {
        sigaddset(&blocked, sig);
    }
    ::sigprocmask(SIG_BLOCK, &blocked, nullptr);
}

Signals::Signals() {
    block_signals_at_start();
    sigset_t set = handled_set();
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

int shell_status(int wait_status) {
    if (WIFSIGNALED(wait_status)) {
        return 128 + WTERMSIG(wait_status);
    }
    return WEXITSTATUS(wait_status);
}

} // namespace launch
