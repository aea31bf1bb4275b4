// Compiles the policy flags and the filter file into a Policy and an
// AddressPolicy. Run at start-up, by --check, and again on SIGHUP (where a
// failure keeps the old rules). Errors name the flag or FILE:LINE.
#pragma once

#include "proxy/address_policy.hpp"
#include "proxy/parsed.hpp"
#include "proxy/policy.hpp"
#include "proxy/proxy_cli.hpp"

#include <string>
#include <vector>

namespace proxy {

struct CompiledPolicy {
    Policy domains;
    AddressPolicy addresses;
    std::vector<std::string> warnings;
};

Parsed<CompiledPolicy> compile_policy(const Options& options);

// The human-readable listing `proxy --check` prints.
std::string describe_policy(const CompiledPolicy& policy);

} // namespace proxy
