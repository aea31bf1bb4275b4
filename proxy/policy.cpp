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
    if (is_connect && !connect_ports.contains(port))
        return {false, fmt::format("port {}", port),
                fmt::format("CONNECT to port {} is not allowed", port),
                fmt::format("add --connect-port {}", port)};
    for (const auto& d : deny)
        if (d.matches(host, port))
            return {false, fmt::format("deny {}", d.text),
                    fmt::format("it matches --deny {}", d.text),
                    fmt::format("remove --deny {}", d.text)};
    if (!filter && allow.empty()) {
        if (!default_deny)
            return {true, "allow all", {}, {}};
        return {false, "not allowed", "the cell allows no domain (deny by default)",
                fmt::format("add --allow {} (or --allow-all for every domain)", host.name)};
    }
    if (filter)
        if (const auto* rule = filter->match(host.name))
            return {true, fmt::format("filter {}", rule->where()), {}, {}};
    for (const auto& a : allow)
        if (a.matches(host, port))
            return {true, fmt::format("allow {}", a.text), {}, {}};
    std::string how = fmt::format("add --allow {}", host.name);
    if (filter)
        how += fmt::format(" or the line '{}' to {}", filter_line_for(host, filter->options().type),
                           filter->file());
    return {false, "not allowed", "the host is not in the cell's allowlist", how};
}

} // namespace proxy
