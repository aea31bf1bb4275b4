// The runtime dir's files that cell-launch reads or makes: argument lists the
// script wrote (NUL-separated, like bwrap's --args), root's private device
// nodes, and its removal.
#pragma once

#include <string>
#include <vector>

namespace launch {

class LaunchLog;

// The NUL-separated strings in the file at `path`; throws SetupError.
std::vector<std::string> read_nul_list(const std::string& path);

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
