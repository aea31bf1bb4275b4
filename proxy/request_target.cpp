// See request_target.hpp.
#include "proxy/request_target.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace proxy {

std::string Target::host_header() const {
    auto h = host.authority();
    return port == (https ? 443 : 80) ? h : fmt::format("{}:{}", h, port);
}

Parsed<Target> parse_authority_form(std::string_view text) {
    if (text.find('@') != std::string_view::npos)
        return fail(fmt::format("CONNECT target '{}' must not carry userinfo", text));
    std::string_view host;
    std::string_view rest;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos)
            return fail(fmt::format("CONNECT target '{}' has an unclosed '['", text));
        host = text.substr(1, close - 1);
        rest = text.substr(close + 1);
        if (host.find(':') == std::string_view::npos)
            return fail(fmt::format("CONNECT target '{}' brackets a non-IPv6 host", text));
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return fail(fmt::format("CONNECT target '{}' needs a port (host:port)", text));
        host = text.substr(0, colon);
        rest = text.substr(colon);
        if (host.find(':') != std::string_view::npos)
            return fail(fmt::format("CONNECT target '{}': write IPv6 hosts as [addr]:port", text));
    }
    if (rest.empty() || rest.front() != ':')
        return fail(fmt::format("CONNECT target '{}' needs a port (host:port)", text));
    auto port = parse_port(rest.substr(1));
    if (!port)
        return fail(fmt::format("CONNECT target '{}': {}", text, port.error()));
    auto h = normalize_host(host);
    if (!h)
        return fail(h.error());
    return Target{*h, *port, {}, false};
}

Parsed<Target> parse_absolute_form(std::string_view text, bool https_too) {
    auto url = boost::urls::parse_absolute_uri(text);
    if (!url)
        return fail(fmt::format("request target '{}' is not an absolute URI", text));
    bool https = https_too && url->scheme_id() == boost::urls::scheme::https;
    if (url->scheme_id() != boost::urls::scheme::http && !https)
        return fail(
            fmt::format("scheme '{}' is not forwarded; use CONNECT for https", url->scheme()));
    if (url->has_userinfo())
        return fail(fmt::format("request target '{}' must not carry userinfo", text));
    std::string_view host = url->encoded_host();
    std::string_view port_text;
    if (url->has_port())
        port_text = url->port();
    std::string_view path = url->encoded_path();
    // Boost.URL 1.81 ends an IPv4 host early in "127.0.0.1.:8080" and reads
    // ".:8080/" as the path, dropping the port. An authority is always
    // followed by an empty path or one starting with '/': when it is not,
    // split the authority from the text ourselves (host, then port after
    // the last ':'), as the CONNECT parser does.
    if (!path.empty() && path.front() != '/' && url->host_type() == boost::urls::host_type::ipv4) {
        auto begin = text.find("//") + 2;
        auto end = std::min(text.find_first_of("/?#", begin), text.size());
        auto authority = text.substr(begin, end - begin);
        auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        port_text =
            colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
        path = url->encoded_path().substr(std::min(path.size(), path.find('/')));
    }
    if (url->host_type() == boost::urls::host_type::ipvfuture)
        return fail(fmt::format("request target '{}' uses an IPvFuture literal", text));
    if (url->host_type() == boost::urls::host_type::ipv6)
        host = host.substr(1, host.size() - 2);
    auto h = normalize_host(host);
    if (!h)
        return fail(h.error());
    std::uint16_t port = https ? 443 : 80;
    if (!port_text.empty()) {
        auto p = parse_port(port_text);
        if (!p)
            return fail(p.error());
        port = *p;
    }
    // Built by appending: GCC 12 at -O3 warns falsely on `origin = "/"`.
    std::string origin;
    origin.reserve(path.size() + url->encoded_query().size() + 2);
    if (path.empty())
        origin.push_back('/');
    origin.append(path.data(), path.size());
    if (url->has_query()) {
        origin.push_back('?');
        origin.append(url->encoded_query().data(), url->encoded_query().size());
    }
    return Target{*h, port, std::move(origin), https};
}

} // namespace proxy
