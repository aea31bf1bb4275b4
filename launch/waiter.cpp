// See waiter.hpp.
#include "launch/waiter.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <sys/wait.h>

namespace launch {

namespace {

using std::chrono::milliseconds;

milliseconds until(Waiter::Clock::time_point deadline) {
    return std::chrono::duration_cast<milliseconds>(deadline - Waiter::Clock::now());
}

// How often the exit and group waits look again when no SIGCHLD wakes them.
constexpr milliseconds kPollStep(50);

} // namespace

Waiter::Waiter(OnExit on_exit) : on_exit_(std::move(on_exit)) {}

std::optional<int> Waiter::wait(const std::vector<int>& fds, std::vector<bool>& readable,
                                std::optional<Clock::time_point> deadline) {
    std::optional<milliseconds> timeout;
    if (deadline) {
        timeout = std::max(until(*deadline), milliseconds(0));
    }
    auto sig = signals_.wait(fds, readable, timeout);
    if (sig == SIGCHLD) {
        reap();
        return std::nullopt;
    }
    return sig;
}

std::optional<int> Waiter::wait_exit(pid_t pid, milliseconds limit) {
    auto deadline = Clock::now() + limit;
    std::vector<bool> none;
    while (true) {
        reap();
        if (auto it = exited_.find(pid); it != exited_.end()) {
            return it->second;
        }
        auto left = until(deadline);
        if (left.count() <= 0) {
            return std::nullopt;
        }
        signals_.wait({}, none, std::min(left, kPollStep));
    }
}

bool Waiter::wait_group_gone(pid_t pgid, milliseconds limit) {
    auto deadline = Clock::now() + limit;
    std::vector<bool> none;
    while (true) {
        reap();
        if (::kill(-pgid, 0) != 0 && errno == ESRCH) {
            return true;
        }
        auto left = until(deadline);
        if (left.count() <= 0) {
            return false;
        }
        // A SIGCHLD ends the wait early; other signals change nothing now.
        signals_.wait({}, none, std::min(left, kPollStep));
    }
}

void Waiter::reap() {
    int status;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        exited_[pid] = status;
        if (on_exit_) {
            on_exit_(pid, status);
        }
    }
}

} // namespace launch
