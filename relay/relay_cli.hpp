// Command line of the `relay` program: one pass over the arguments into an
// Options value; usage errors exit 2 with a single `relay: ...` line.
#pragma once

#include "net/endpoint.hpp"
#include "net/lifetime.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace relay {

struct Options {
    Endpoint listen;
    Endpoint connect;
    std::vector<std::string> command; // after `--`; only with --background
    LifetimeOptions lifetime;
    std::size_t max_connections = 0; // 0 = no limit
    unsigned threads = 1;            // event loops accepting from the one listener (--threads)
    std::chrono::steady_clock::duration idle_timeout{};
    std::optional<mode_t> mode;
    std::string log_file;
    bool quiet = false;
    bool background = false;
    bool drop_root = false;     // see privileges.hpp
    std::optional<int> gate_fd; // --background: wait for "go" here before COMMAND
};

// Parses argv; prints help and exits 0 for --help; exits 2 on a usage error.
Options parse_cli(int argc, char** argv);

} // namespace relay
