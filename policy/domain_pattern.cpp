// See domain_pattern.hpp.
#include "policy/domain_pattern.hpp"

#include "common/syntax.hpp"

#include <fmt/format.h>

namespace policy {

bool DomainPattern::matches(const Host& host, std::uint16_t p) const {
    if (port && *port != p)
        return false;
    const auto& h = host.name;
    bool below = h.size() > domain.size() + 1 && h.ends_with(domain) &&
                 h[h.size() - domain.size() - 1] == '.' && host.kind == HostKind::name;
    switch (scope) {
    case Scope::exact:
        return h == domain;
    case Scope::subdomains:
        return below;
    case Scope::domain_and_subdomains:
        return below || h == domain;
    }
    return false;
}

Parsed<DomainPattern> parse_domain_pattern(std::string_view text, const PublicSuffixes& suffixes) {
    DomainPattern p;
    p.text = text;
    auto rest = text;
    if (rest.starts_with("**.")) {
        p.scope = DomainPattern::Scope::domain_and_subdomains;
        rest.remove_prefix(3);
    } else if (rest.starts_with("*.")) {
        p.scope = DomainPattern::Scope::subdomains;
        rest.remove_prefix(2);
    }
    // A port suffix: after "]" for [v6], else after the only ':' (a bare
    // IPv6 literal has several and no port).
    std::size_t colon = std::string_view::npos;
    bool bracketed = rest.starts_with('[');
    if (bracketed) {
        auto close = rest.find(']');
        if (close == std::string_view::npos)
            return fail(fmt::format("pattern '{}' has an unclosed '['", text));
        if (close + 1 < rest.size() && rest[close + 1] == ':')
            colon = close + 1;
        else if (close + 1 != rest.size())
            return fail(fmt::format("pattern '{}': text after ']'", text));
    } else if (auto c = rest.find(':'); c != std::string_view::npos && c == rest.rfind(':')) {
        colon = c;
    }
    if (colon != std::string_view::npos) {
        auto port = common::parse_port(rest.substr(colon + 1));
        if (!port)
            return fail(fmt::format("pattern '{}': {}", text, port.error()));
        p.port = *port;
        rest = rest.substr(0, colon);
    }
    if (bracketed)
        rest = rest.substr(1, rest.size() - 2);
    if (rest.find('*') != std::string_view::npos)
        return fail(
            fmt::format("pattern '{}': '*' is only allowed as a leading '*.' or '**.'", text));
    auto host = normalize_host(rest);
    if (!host)
        return fail(fmt::format("pattern '{}': {}", text, host.error()));
    if (p.scope != DomainPattern::Scope::exact) {
        if (host->kind != HostKind::name)
            return fail(fmt::format("pattern '{}': wildcards do not apply to IP addresses", text));
        if (suffixes.is_public_suffix(host->name))
            return fail(fmt::format("pattern '{}' is broader than a registrable domain ('{}' is a "
                                    "public suffix); name the domain, e.g. *.example.{}",
                                    text, host->name, host->name));
    }
    p.domain = host->name;
    return p;
}

} // namespace policy
