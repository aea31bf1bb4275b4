// The responses the proxy itself generates (400 403 408 431 501 502 503
// 504), each with a Proxy-Status field (RFC 9209) naming this proxy, the
// error type and details, and a short plain-text body a human or an agent
// can act on. A 403 says the refusal is the cell's policy, on purpose, so
// the jailed program does not retry around it as if it were a network fault.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace proxy {

struct ProxyError {
    int status = 500;
    std::string_view error_type; // RFC 9209 §2.3 type, e.g. "http_request_denied"
    std::string details;         // one line, goes into Proxy-Status and the body
    std::string body;            // empty -> details + "\n"
};

std::string_view reason_phrase(int status);

// A complete response; it always closes the connection.
std::string render_error(const ProxyError& e);

// The 403 body: host, why, and what would allow it (`--allow HOST` or the
// filter file line to add).
std::string forbidden_body(std::string_view host, std::uint16_t port, std::string_view why,
                           std::string_view how_to_allow);

} // namespace proxy
