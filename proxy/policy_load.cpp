// See policy_load.hpp.
#include "proxy/policy_load.hpp"

#include <fmt/format.h>

namespace proxy {
namespace {

Parsed<std::vector<DomainPattern>> patterns(const std::vector<std::string>& texts, const char* flag,
                                            const PublicSuffixes& suffixes) {
    std::vector<DomainPattern> out;
    for (const auto& t : texts) {
        auto p = parse_domain_pattern(t, suffixes);
        if (!p)
            return fail(fmt::format("--{} {}: {}", flag, t, p.error()));
        out.push_back(*p);
    }
    return out;
}

bool any_wildcard(const std::vector<std::string>& texts) {
    for (const auto& t : texts)
        if (t.starts_with('*'))
            return true;
    return false;
}

} // namespace

Parsed<CompiledPolicy> compile_policy(const Options& o) {
    CompiledPolicy c;
    // The suffix list is only read when a wildcard needs it (10k lines).
    auto suffixes = any_wildcard(o.allow) || any_wildcard(o.deny)
                        ? PublicSuffixes::load(o.public_suffix_list)
                        : PublicSuffixes{};
    auto allow = patterns(o.allow, "allow", suffixes);
    if (!allow)
        return fail(allow.error());
    auto deny = patterns(o.deny, "deny", suffixes);
    if (!deny)
        return fail(deny.error());
    c.domains.allow = std::move(*allow);
    c.domains.deny = std::move(*deny);
    if (!o.connect_ports.empty())
        c.domains.connect_ports = {o.connect_ports.begin(), o.connect_ports.end()};
    if (o.filter_file) {
        auto f = Filter::load(*o.filter_file, o.filter_options);
        if (!f)
            return fail(f.error());
        c.warnings = f->warnings();
        c.domains.filter = std::move(*f);
    }
    c.addresses.allow_private = o.allow_private;
    c.domains.default_deny = o.default_deny;
    for (const auto& text : o.allow_cidr) {
        auto cidr = parse_cidr(text);
        if (!cidr)
            return fail(fmt::format("--allow-cidr {}: {}", text, cidr.error()));
        c.addresses.allowed.push_back(*cidr);
    }
    return c;
}

std::string describe_policy(const CompiledPolicy& c) {
    std::string out;
    const auto& d = c.domains;
    if (d.filter) {
        out +=
            fmt::format("filter {} ({}, {}): {} rules\n", d.filter->file(),
                        filter_type_name(d.filter->options().type),
                        d.filter->options().case_sensitive ? "case-sensitive" : "case-insensitive",
                        d.filter->rules().size());
        for (const auto& r : d.filter->rules())
            out += fmt::format("  allow  {}  {}\n", r.where(), r.pattern);
    }
    for (const auto& a : d.allow)
        out += fmt::format("  allow  --allow {}\n", a.text);
    for (const auto& x : d.deny)
        out += fmt::format("  deny   --deny {} (wins)\n", x.text);
    if (!d.filter && d.allow.empty())
        out += d.default_deny
                   ? "  deny   every domain (--default-deny, no --filter and no --allow)\n"
                   : "  allow  every domain (no --filter and no --allow)\n";
    out += fmt::format("CONNECT ports: {}\n", fmt::join(d.connect_ports, " "));
    if (c.addresses.allow_private)
        out += "destinations: private, loopback and link-local allowed (--allow-private)\n";
    else
        out += "destinations: loopback, private, link-local, ULA, multicast and this host's own "
               "addresses refused\n";
    for (const auto& cidr : c.addresses.allowed)
        out += fmt::format("  except --allow-cidr {}\n", cidr.text);
    return out;
}

} // namespace proxy
