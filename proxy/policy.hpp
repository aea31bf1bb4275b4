// The domain policy: which (host, port) a request may reach, and why. It
// combines, in this order: `--deny` patterns (deny wins over everything),
// then the allowlists: the filter file and `--allow` patterns, either of
// which admits a host. With neither, every domain is allowed, or none with
// `default_deny` (the destination address policy still applies after
// resolving). CONNECT (and SOCKS) reach the CONNECT ports of an allowed
// host, and any other port only through a rule that names it
// (`--allow HOST:PORT`, a filter line's `port=N`): that opens the port for
// the rule's hosts alone.
#pragma once

#include "proxy/policy_names.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace proxy {

struct Decision {
    bool allowed = false;
    std::string reason; // for the log: "filter FILE:LINE", "allow PATTERN", "deny PATTERN", ...
    std::string why;    // for a 403 body (denials only)
    std::string how_to_allow; // for a 403 body (denials only)
};

struct Policy {
    std::optional<Filter> filter;
    std::vector<DomainPattern> allow;
    std::vector<DomainPattern> deny;
    std::set<std::uint16_t> connect_ports{80, 443};
    // With no filter and no --allow: refuse every domain (a cell's default)
    // rather than allow every one (tinyproxy's, without FilterDefaultDeny).
    bool default_deny = false;

    Decision decide(const Host& host, std::uint16_t port, bool is_connect) const;
};

} // namespace proxy
