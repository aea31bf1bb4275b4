// The command line: Boost.Program_options descriptions generated from the
// combinator table plus the cell settings, parsed into an ordered request.
#pragma once

#include "cellgen/combinator.hpp"

#include <boost/program_options/options_description.hpp>

#include <optional>
#include <string>
#include <vector>

namespace cellgen {

struct Request {
    std::vector<Invocation> invocations; // the profile's, then the flags'
    Settings settings;
    std::string print = "shell";
    bool nul = false;
    std::optional<std::string> runtime_dir;
    std::vector<std::string> command; // after `--`
    bool help = false;
    bool version = false;
};

// Options allowed in a profile: settings and combinators.
boost::program_options::options_description profile_options(const std::vector<Combinator>& table);

// Options only on the command line (print, profile, help...).
boost::program_options::options_description cli_options();

// Throws UsageError naming the flag or FILE:LINE at fault.
Request parse_request(const std::vector<std::string>& args, const std::vector<Combinator>& table);

} // namespace cellgen
