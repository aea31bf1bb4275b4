// What one listener of the proxy serves: HTTP proxy requests (--listen),
// SOCKS5 (--socks-listen), or one fixed destination (--forward), for
// clients that know no proxy. All three meet the same address policy and
// write the same access and refusal logs; a forward's destination was
// named by whoever started the proxy, so it skips the domain policy.
// A fourth kind is made inside the proxy: the decrypted side of a CONNECT
// to a registry the image cache intercepts (tunnel.cpp), whose requests are
// origin-form and all go to that one registry over TLS.
#pragma once

#include "proxy/request_target.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace proxy {

struct Service {
    enum class Kind { http, socks, forward, intercepted };
    Kind kind = Kind::http;
    std::optional<Target> to; // Kind::forward, intercepted: the destination
    // The client's name for the log: the address accept(2) gave (so no
    // getpeername(2) per connection), or an intercepted session's real client.
    std::string client;

    // The access log's method for a connection refused before it said
    // anything (the connection cap).
    std::string_view method() const {
        return kind == Kind::socks ? "SOCKS5" : kind == Kind::forward ? "FORWARD" : "-";
    }
};

} // namespace proxy
