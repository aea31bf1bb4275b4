// See status_page.hpp.
#include "proxy/status_page.hpp"

#include <fmt/format.h>

namespace proxy {
namespace {

// A quoted-string for a structured-field parameter (RFC 8941 §3.3.3):
// only printable ASCII, with `"` and `\` escaped.
std::string sf_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c < 0x20 || c > 0x7e)
            c = '?';
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

} // namespace

std::string_view reason_phrase(int status) {
    switch (status) {
    case 200:
        return "Connection established";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Error";
    }
}

std::string render_error(const ProxyError& e) {
    auto body = e.body.empty() ? e.details + "\n" : e.body;
    return fmt::format("HTTP/1.1 {} {}\r\n"
                       "Proxy-Status: unsafe-cell; error={}; details={}\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: {}\r\n"
                       "Connection: close\r\n"
                       "\r\n{}",
                       e.status, reason_phrase(e.status), e.error_type, sf_string(e.details),
                       body.size(), body);
}

std::string forbidden_body(std::string_view host, std::uint16_t port, std::string_view why,
                           std::string_view how_to_allow) {
    return fmt::format("unsafe-cell proxy: access to {}:{} was refused by the cell's network "
                       "policy: {}.\n"
                       "This is deliberate, not a network fault: retrying, other mirrors or "
                       "other ports will be refused too.\n"
                       "To allow it, whoever starts the cell can {}.\n"
                       "Every refusal of this cell is listed, one JSON line each with the flag "
                       "that would allow it, in the file $CELL_REFUSALS names.\n",
                       host, port, why, how_to_allow);
}

} // namespace proxy
