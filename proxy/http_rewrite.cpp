// See http_rewrite.hpp.
#include "proxy/http_rewrite.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace proxy {
namespace {

constexpr std::array<std::string_view, 8> always_hop_by_hop = {
    "Connection", "Proxy-Connection", "Proxy-Authorization", "Keep-Alive", "TE",
    "Trailer",    "Upgrade",          "Proxy-Authenticate"};

bool listed(std::string_view name, const std::vector<std::string>& names) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return iequals(n, name); });
}

bool always_dropped(std::string_view name) {
    return std::any_of(always_hop_by_hop.begin(), always_hop_by_hop.end(),
                       [&](std::string_view h) { return iequals(h, name); });
}

void append_fields(std::string& out, const HeaderFields& fields,
                   std::initializer_list<std::string_view> also_drop) {
    auto named = field_list(fields, "Connection"); // once, not per field
    for (const auto& f : fields) {
        if (always_dropped(f.name) || listed(f.name, named))
            continue;
        if (std::any_of(also_drop.begin(), also_drop.end(),
                        [&](std::string_view d) { return iequals(d, f.name); }))
            continue;
        out += f.name;
        out += ": ";
        out += f.value;
        out += "\r\n";
    }
    out += "Via: ";
    out += via_entry;
    out += "\r\n";
}

} // namespace

bool is_hop_by_hop(std::string_view name, const HeaderFields& fields) {
    return always_dropped(name) || listed(name, field_list(fields, "Connection"));
}

std::string upstream_request_head(const RequestHead& req, const Target& target) {
    std::string out;
    out.reserve(256);
    out += req.method;
    out += ' ';
    out += target.origin_form;
    out += " HTTP/1.1\r\nHost: ";
    out += target.host_header();
    out += "\r\n";
    append_fields(out, req.fields, {"Host"});
    out += "\r\n";
    return out;
}

std::string client_response_head(const ResponseHead& res, bool close_after) {
    std::string out;
    out.reserve(256);
    out += fmt::format("HTTP/1.1 {} {}\r\n", res.status, res.reason);
    append_fields(out, res.fields, {});
    if (close_after)
        out += "Connection: close\r\n";
    out += "\r\n";
    return out;
}

} // namespace proxy
