// LogDir: the cell's log directory, opened once and then only used through
// its fd. A log dir may be the jail's to write (a --log-dir inside the
// worktree), so the jail can swap it, or a file in it, for a symlink or a
// fifo between two cells. The host side therefore
//  - reaches the directory one component at a time from /, following no
//    link (a link anywhere on the path is refused, naming it);
//  - opens every log relative to that fd, never through a link, never
//    blocking on a fifo, and only a regular file (else the cell fails,
//    naming the file);
//  - binds that very directory into the jail by fd (bwrap --ro-bind-fd),
//    so a swap after the check changes nothing;
//  - hands the proxy its access log as an open fd, not a path.
#pragma once

#include "launch/fd.hpp"

#include <string>
#include <sys/types.h>

namespace launch {

// The fd bwrap finds the log dir on: `--ro-bind-fd 6 /var/log/cell`.
inline constexpr int kBwrapLogDirFd = 6;

class LogDir {
public:
    LogDir() = default;
    // Opens the existing directory `path` (absolute); throws SetupError
    // naming the path, or the link on it, when it cannot.
    explicit LogDir(std::string path);

    const std::string& path() const { return path_; }
    int fd() const { return fd_.get(); }
    explicit operator bool() const { return static_cast<bool>(fd_); }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

    // NAME in the dir, opened to append (and read), made 0644 if missing;
    // throws SetupError naming the file when it is a link, a fifo or
    // anything but a regular file. O_CLOEXEC.
    // `fresh`: emptied first (a log of this cell only).
    Fd open_log(const std::string& name, bool fresh = false) const;
    // NAME opened to read, or an invalid Fd when it is missing or not a
    // regular file.
    Fd open_read(const std::string& name) const;

private:
    std::string path_;
    Fd fd_; // O_PATH
};

} // namespace launch
