// See policy.hpp.
#include "proxy/policy.hpp"

#include <fmt/format.h>

namespace proxy {
namespace {

// The filter-file line that would admit exactly this host, in the file's flavour.
std::string filter_line_for(const Host& host, FilterType type) {
    if (type == FilterType::fnmatch)
        return host.name;
    std::string escaped;
    for (char c : host.name) {
        if (c == '.')
            escaped += '\\';
        escaped += c;
    }
    return "^" + escaped + "$";
}

} // namespace

Decision Policy::decide(const Host& host, std::uint16_t port, bool is_connect) const {
    for (const auto& d : deny)
        if (d.matches(host, port))
            return {false, fmt::format("deny {}", d.text),
                    fmt::format("it matches --deny {}", d.text),
                    fmt::format("remove --deny {}", d.text)};
    // A port outside the CONNECT ports is open only to a rule naming it
    // (`--allow HOST:PORT`, a filter line's `port=N`), for that rule's hosts.
    const bool port_open = !is_connect || connect_ports.contains(port);
    auto port_refused = [&](bool per_host) -> Decision {
        return {false, fmt::format("port {}", port),
                fmt::format("CONNECT to port {} is not allowed", port),
                per_host ? fmt::format("add --allow {}:{} (this host only) or --connect-port {} "
                                       "(every allowed host)",
                                       host.name, port, port)
                         : fmt::format("add --connect-port {}", port)};
    };
    if (!filter && allow.empty()) {
        if (!port_open)
            return port_refused(false);
        if (!default_deny)
            return {true, "allow all", {}, {}};
        return {false, "not allowed", "the cell allows no domain (deny by default)",
                fmt::format("add --allow {} (or --allow-all for every domain)",
                            port_open ? host.name : fmt::format("{}:{}", host.name, port))};
    }
    if (filter)
        if (const auto* rule = filter->match(host.name, port, !port_open))
            return {true, fmt::format("filter {}", rule->where()), {}, {}};
    for (const auto& a : allow)
        if (a.matches(host, port) && (port_open || a.port))
            return {true, fmt::format("allow {}", a.text), {}, {}};
    if (!port_open) {
        // Allowed on other ports: the port is what stands in the way.
        bool host_allowed = filter && filter->match(host.name, port);
        for (const auto& a : allow)
            host_allowed = host_allowed || (!a.port && a.matches(host, port));
        if (host_allowed)
            return port_refused(true);
    }
    auto name = port_open ? host.name : fmt::format("{}:{}", host.name, port);
    std::string how = fmt::format("add --allow {}", name);
    if (filter)
        how +=
            fmt::format(" or the line '{}{}' to {}", filter_line_for(host, filter->options().type),
                        port_open ? std::string() : fmt::format(" port={}", port), filter->file());
    return {false, "not allowed", "the host is not in the cell's allowlist", how};
}

} // namespace proxy
