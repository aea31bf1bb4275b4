// The runtime dir's files that cell-launch makes: bwrap's option list (a
// memfd, NUL-separated for --args), root's private device nodes, and the
// dir's removal.
#pragma once

#include "launch/fd.hpp"

#include <string>
#include <vector>

namespace launch {

class LaunchLog;

// An fd at offset 0 holding `list` NUL-separated, as bwrap's --args reads it:
// a memfd, else an unnamed file in `dir`; throws SetupError.
Fd nul_list_fd(const std::vector<std::string>& list, const std::string& dir);

// Root only: a cell started by root is uid 0 on the host and would own the
// host's device nodes that bwrap's --dev binds in, so it gets private copies
// in dev_dir (the plan binds them over bwrap's). On a nodev filesystem the
// copies cannot be used: they are removed, with a warning, and the host's
// nodes are used.
void copy_private_devices(const std::vector<std::string>& devices, const std::string& dev_dir,
                          const LaunchLog& log);

// rm -rf without following symlinks; false (and errno) when some of it stays.
bool remove_tree(const std::string& path) noexcept;

} // namespace launch
