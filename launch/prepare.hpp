// Prepare: the step between a launch plan and the Launcher. It checks what the
// plan requires of the caller (directories, environment variables,
// CELL_READY_TIMEOUT), makes the private runtime dir (mode 0700, a fresh
// name under $XDG_RUNTIME_DIR or /tmp) with the plan's dirs and files, picks
// the daemons that will start, and resolves every runtime path. Nothing is
// created before the checks pass, and on any failure nothing it made is left.
#pragma once

#include "cellgen/plan.hpp"
#include "launch/launch_options.hpp"

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace launch {

// A cell that cannot start: `status` is the launcher's exit status (2: the
// caller's options or environment, 70: setup), the text names the culprit.
class PrepareError : public std::runtime_error {
public:
    PrepareError(int status, const std::string& what) : std::runtime_error(what), status(status) {}
    int status;
};

using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// The caller's environment, for prepare().
std::optional<std::string> process_getenv(const std::string& name);

// For a cell: makes and fills a new runtime dir and returns the Launcher's
// options; `args` follow the plan's command.
Options prepare(const cellgen::Plan& plan, const std::vector<std::string>& args,
                const Getenv& getenv);

// For a person or a test that runs bwrap by hand: fills `dir` (made if
// missing) as the runtime dir, private /dev nodes included when root, and
// returns bwrap's options. No daemon starts.
std::vector<std::string> prepare_dir_only(const cellgen::Plan& plan, const std::string& dir,
                                          const Getenv& getenv);

} // namespace launch
