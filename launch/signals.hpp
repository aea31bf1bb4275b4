// Signals: cell-launch handles INT, TERM, HUP and CHLD synchronously through a
// signalfd, so a signal is just another readable fd in the one poll loop and
// nothing runs in a handler. SIGPIPE is blocked too (never read): a write to a
// pipe whose reader has gone returns EPIPE instead of killing the launcher.
// INT, TERM and HUP that the caller ignored (a background job's SIGINT) are
// left out, as bash's traps would leave them; an ignored SIGCHLD is reset.
#pragma once

#include "launch/fd.hpp"

#include <chrono>
#include <optional>
#include <vector>

namespace launch {

// The first thing cell-launch does: until the signalfd exists, a signal must
// not end the launcher with the runtime dir left behind.
void block_signals_at_start();

class Signals {
public:
    Signals();

    // Waits until a signal arrives or one of `fds` is readable (or hung up),
    // at most `timeout` (nullopt: no limit). Returns the signal, if one came;
    // `ready` is resized to say which fds are readable.
    std::optional<int> wait(const std::vector<int>& fds, std::vector<bool>& ready,
                            std::optional<std::chrono::milliseconds> timeout);

private:
    Fd fd_;
};

// The exit status a shell would report: the code, or 128+N for signal N.
int shell_status(int wait_status);

} // namespace launch
