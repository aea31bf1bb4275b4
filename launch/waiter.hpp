// Waiter: the launcher's one wait loop. Every wait of the launcher has one
// shape: wait on some fds and the signalfd (signals.hpp) until a deadline;
// on SIGCHLD, reap every child that has exited (its status kept by pid and
// handed to the owner's report); on another signal, return it. The
// launcher's waits differ only in what they do with a readable fd, so a
// reader checks "every wait reaps and honours its deadline" here, once.
#pragma once

#include "launch/signals.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <sys/types.h>
#include <vector>

namespace launch {

class Waiter {
public:
    using Clock = std::chrono::steady_clock;
    // Told of each child reaped, with its wait status.
    using OnExit = std::function<void(pid_t pid, int status)>;

    explicit Waiter(OnExit on_exit);

    // Waits until one of `fds` is readable (or hung up), a signal comes or
    // `deadline` passes (nullopt: no deadline). A SIGCHLD is reaped here and
    // not returned; another signal is. `readable` says which fds are.
    std::optional<int> wait(const std::vector<int>& fds, std::vector<bool>& readable,
                            std::optional<Clock::time_point> deadline);
    // The wait status of child `pid` once it has exited, reaping as it goes;
    // nullopt if it still runs after `limit`. Signals other than SIGCHLD are
    // dropped meanwhile (only used on the way out).
    std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit);
    // Whether process group `pgid` is gone within `limit`, reaping as it
    // goes (our children in it would stay there as zombies). Signals other
    // than SIGCHLD are dropped meanwhile.
    bool wait_group_gone(pid_t pgid, std::chrono::milliseconds limit);
    // Reaps every child that has exited, without waiting.
    void reap();

private:
    Signals signals_;
    std::map<pid_t, int> exited_; // wait statuses of children reaped so far
    OnExit on_exit_;
};

} // namespace launch
