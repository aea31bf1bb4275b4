// INI profiles: `name = value` lines with the same names as the flags,
// read with Boost.Program_options' config parser. Each entry keeps its line
// so errors can say FILE:LINE.
#pragma once

#include <boost/program_options/options_description.hpp>

#include <string>
#include <vector>

namespace cellgen {

struct ProfileEntry {
    std::string key;
    std::string value;
    std::string origin; // "FILE:LINE"
};

// `known` are the option names a profile may use. Throws UsageError naming FILE:LINE.
std::vector<ProfileEntry> read_profile(const std::string& path,
                                       const boost::program_options::options_description& desc);

// The profile used when no --profile is given.
std::vector<ProfileEntry> default_profile(const boost::program_options::options_description& desc);

extern const char* const kDefaultProfileText;

} // namespace cellgen
