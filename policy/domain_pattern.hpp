// `--allow` / `--deny` domain patterns: the readable alternative to regex
// filter files. `example.com` is that host only, `*.example.com` its
// subdomains only, `**.example.com` both; `:PORT` narrows to one port. The
// match is exact on normalised hosts, so none of the unanchored-regex traps
// apply. Wildcards over a public suffix (`*.com`, `**.co.uk`) are refused.
#pragma once

#include "policy/host_normalize.hpp"
#include "policy/parse_result.hpp"
#include "policy/public_suffix.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace policy {

struct DomainPattern {
    enum class Scope { exact, subdomains, domain_and_subdomains };
    Scope scope = Scope::exact;
    std::string domain; // normalised
    std::optional<std::uint16_t> port;
    std::string text; // as the user wrote it, for logs and 403 bodies

    bool matches(const Host& host, std::uint16_t port) const;
};

Parsed<DomainPattern> parse_domain_pattern(std::string_view text, const PublicSuffixes& suffixes);

} // namespace policy
