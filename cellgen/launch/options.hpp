// cell-launch's command line. It is called by the launcher script (see
// cellgen/launcher.sh) once the plan's runtime dir is made and filled, never
// by hand; the script wrote bwrap's options to RUNTIME_DIR/bwrap.args and
// each daemon's argv to RUNTIME_DIR/daemon.NAME.args (NUL-separated).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace launch {

struct Options {
    std::string runtime_dir;
    std::string log_dir;
    std::string bwrap;
    std::optional<std::string> gate_option; // inserted after command[0], with fd 8
    std::optional<std::string> proxy_log;
    std::vector<std::string> private_devices;
    std::vector<std::string> daemons; // names, in start order
    std::chrono::seconds ready_timeout{10};
    std::vector<std::string> command;
};

// Parses argv; throws UsageError naming the bad flag.
Options parse_options(int argc, char** argv);

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace launch
