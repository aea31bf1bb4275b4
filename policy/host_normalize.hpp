// Host normalisation: the one spelling of a host that policy decisions see.
// Lower-case, one trailing dot dropped, IDN only as punycode, IP literals
// kept as written (v6 without brackets), and every ambiguous spelling
// (percent-encoding, legacy IPv4 forms like 2130706433 or 0x7f.1) refused,
// because a resolver would read those differently from the filter.
#pragma once

#include "policy/parse_result.hpp"

#include <string>
#include <string_view>

namespace policy {

enum class HostKind { name, ipv4, ipv6 };

struct Host {
    std::string name; // normalised; IPv6 without brackets
    HostKind kind = HostKind::name;

    // The host as it goes into a Host header or authority: [v6] bracketed.
    std::string authority() const;
    bool operator==(const Host&) const = default;
};

// `raw` is the host as written, IPv6 literals without their brackets.
Parsed<Host> normalize_host(std::string_view raw);

} // namespace policy
