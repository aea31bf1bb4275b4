// LaunchLog: what the launcher did, one timestamped line per step, in the log
// dir's launcher.log (opened by LogDir: never through a link planted there).
// say() also tells the person at the terminal, as "cell: ...".
#pragma once

#include "launch/fd.hpp"

#include <string>
#include <string_view>

namespace launch {

class LaunchLog {
public:
    LaunchLog() = default;
    explicit LaunchLog(Fd fd) : fd_(std::move(fd)) {}

    void note(std::string_view line) const;
    void say(std::string_view line) const;
    // say() a line, then the last 5 lines of `log` (a daemon's stderr) on
    // stderr, each indented "  | ".
    void say_with_tail(std::string_view line, int log) const;

private:
    Fd fd_;
};

} // namespace launch
