// What one listener of the proxy serves: HTTP proxy requests (--listen),
// SOCKS5 (--socks-listen), or one fixed destination (--forward), for
// clients that know no proxy. All three meet the same address policy and
// write the same access and refusal logs; a forward's destination was
// named by whoever started the proxy, so it skips the domain policy.
#pragma once

#include "proxy/request_target.hpp"

#include <optional>
#include <string_view>

namespace proxy {

struct Service {
    enum class Kind { http, socks, forward };
    Kind kind = Kind::http;
    std::optional<Target> to; // Kind::forward: the destination

    // The access log's method for a connection refused before it said
    // anything (the connection cap).
    std::string_view method() const {
        return kind == Kind::socks ? "SOCKS5" : kind == Kind::forward ? "FORWARD" : "-";
    }
};

} // namespace proxy
