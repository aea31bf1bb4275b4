// The one way a plan runs: prepare() makes the runtime dir, the Launcher runs
// the cell. `cell` calls this in its own process, cell-launch for a wrapper.
#pragma once

#include "cellgen/plan.hpp"

#include <string>
#include <vector>

namespace launch {

// Runs the cell and returns its exit status: the command's (128+N for a
// signal), 2 for the caller's mistakes, 70 when the cell could not run.
// It first blocks the signals the Launcher handles and closes every
// inherited fd but stdio.
int run_plan(const cellgen::Plan& plan, const std::vector<std::string>& args);

} // namespace launch
