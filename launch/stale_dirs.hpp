// Runtime dirs left behind. prepare() makes a cell's runtime dir a moment
// before the Launcher locks it; a SIGKILL in between (or one that ends the
// launcher and its keeper together) leaves the dir, with nothing running for
// it. Every live cell holds an flock on its runtime dir from then to the
// dir's removal (the keeper shares it), so a dir that nobody locks and that
// is older than that moment is known to be abandoned; each cell's cleanup
// removes those it finds beside its own. flock works across pid namespaces,
// unlike a pid in the name. Only dirs named cell-<16 hex digits> qualify, a
// name that comes with the dir itself: older launchers, which took no lock,
// named theirs cell.<hex>.
#pragma once

#include "launch/fd.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace launch {

// The lock that marks `dir` live; throws SetupError.
Fd lock_runtime_dir(const std::string& dir);

// Removes the dirs beside `own` (same parent) that are named like runtime
// dirs (cell-<16 hex digits>), are ours (owner euid, not symlinks), are
// older than `min_age`, and that nobody locks. Returns the paths removed.
std::vector<std::string> sweep_stale_runtime_dirs(const std::string& own,
                                                  std::chrono::seconds min_age);

} // namespace launch
