// Request targets a proxy accepts: authority-form for CONNECT (RFC 9112
// §3.2.3, port mandatory) and absolute-form http:// for forwarding (§3.2.2).
// The host comes out normalised (host_normalize.hpp) so the policy and the
// connector see the same name; userinfo is refused outright because
// `allowed.com@evil.com` is the classic way to confuse a filter.
#pragma once

#include "common/syntax.hpp"
#include "proxy/parsed.hpp"
#include "proxy/policy_names.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace proxy {

struct Target {
    Host host;
    std::uint16_t port = 0;
    std::string origin_form; // path?query for the upstream request line ("/" if empty)
    // Reached over TLS by the proxy itself: only the image cache does that
    // (an intercepted registry, a registry's redirect to https storage).
    bool https = false;

    // host[:port] for a Host header: the port only when not the scheme's
    // default (80, or 443 for https).
    std::string host_header() const;
};

Parsed<Target> parse_authority_form(std::string_view text);
// http:// only, unless `https_too` (where the proxy itself follows a
// registry's redirect).
Parsed<Target> parse_absolute_form(std::string_view text, bool https_too = false);

// "1".."65535", digits only: the shared port syntax.
using common::parse_port;

} // namespace proxy
