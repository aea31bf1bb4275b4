// LaunchLog: what the launcher did, one timestamped line per step, in the log
// dir's launcher.log (opened O_NOFOLLOW: the log dir may be the jail's to
// write, and the host must never write through a link planted there).
// say() also tells the person at the terminal, as "cell: ...".
#pragma once

#include "launch/fd.hpp"

#include <string>
#include <string_view>

namespace launch {

class LaunchLog {
public:
    LaunchLog() = default;
    explicit LaunchLog(const std::string& path);

    void note(std::string_view line) const;
    void say(std::string_view line) const;
    // say() a line, then the last 5 lines of the file at log_path (a daemon's
    // stderr) on stderr, each indented "  | ".
    void say_with_tail(std::string_view line, const std::string& log_path) const;

private:
    Fd fd_;
};

// Opens a log file to append to, O_NOFOLLOW and O_CLOEXEC; an invalid Fd
// when it cannot.
Fd open_append(const std::string& path);

} // namespace launch
