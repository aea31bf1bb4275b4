// What the proxy changes in a message it forwards (RFC 9110 §7.6): the
// request line becomes origin-form, Host is regenerated from the URI (the
// client's Host is never trusted), hop-by-hop fields go (Connection and the
// fields it names, Proxy-Connection, Proxy-Authorization, Keep-Alive, TE,
// Trailer, Upgrade), and a Via entry is appended.
#pragma once

#include "proxy/http_head.hpp"
#include "proxy/request_target.hpp"

#include <string>
#include <string_view>

namespace proxy {

constexpr std::string_view via_entry = "1.1 unsafe-cell";

std::string upstream_request_head(const RequestHead& req, const Target& target);
// `minor_version` is the client's, so an HTTP/1.0 client is answered in kind.
std::string client_response_head(const ResponseHead& res, bool close_after);

// True for the fields a proxy must not forward (includes those Connection names).
bool is_hop_by_hop(std::string_view name, const HeaderFields& fields);

} // namespace proxy
