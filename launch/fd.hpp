// Fd (common/fd.hpp) and what the launcher does with descriptors. Every fd
// cell-launch opens is O_CLOEXEC, so nothing reaches bwrap or a daemon unless
// a spawn names it (see spawn.hpp).
#pragma once

#include "common/fd.hpp"

#include <string_view>
#include <sys/types.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace launch {

using common::Fd;

// Writes all of `text` to `fd`, retrying after EINTR and short writes;
// false (errno set) when a write fails.
bool write_all(int fd, std::string_view text) noexcept;

// Opens /dev/null on each of fds 0, 1 and 2 that is closed, so that no fd
// the launcher opens later takes a stdio number (and becomes the jail's
// stdin, say). False, with errno, when that fails.
bool ensure_stdio() noexcept;

// Closes every fd not in `keep`: close_range(2) over the gaps, else each one
// /proc/self/fd lists (kernels before 5.9, seccomp profiles that refuse
// close_range). False, with errno, when neither works.
bool close_fds_except(std::vector<int> keep) noexcept;

// A pipe whose both ends are O_CLOEXEC; throws SetupError naming `what`.
struct Pipe {
    Fd read;
    Fd write;
};
Pipe make_pipe(const char* what);

} // namespace launch
