// See socks5.hpp.
#include "proxy/socks5.hpp"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace proxy::socks5 {

Greeting parse_greeting(std::span<const std::uint8_t> bytes) {
    Greeting g;
    if (bytes.empty())
        return g;
    if (bytes[0] != version) {
        g.status = Status::bad;
        g.problem = fmt::format("not SOCKS5 (version byte {})", bytes[0]);
        return g;
    }
    if (bytes.size() < 2)
        return g;
    std::size_t n = bytes[1];
    if (n == 0) {
        g.status = Status::bad;
        g.problem = "greeting offers no authentication method";
        return g;
    }
    if (bytes.size() < 2 + n)
        return g;
    bool none = false;
    bool password = false;
    for (std::size_t i = 0; i < n; ++i) {
        none = none || bytes[2 + i] == method_none;
        password = password || bytes[2 + i] == method_password;
    }
    g.method = none ? method_none : password ? method_password : method_unacceptable;
    g.status = Status::ok;
    g.used = 2 + n;
    return g;
}

Auth parse_auth(std::span<const std::uint8_t> bytes) {
    Auth a;
    if (bytes.empty())
        return a;
    if (bytes[0] != 0x01) {
        a.status = Status::bad;
        a.problem = fmt::format("username/password version {} (want 1)", bytes[0]);
        return a;
    }
    if (bytes.size() < 2)
        return a;
    std::size_t ulen = bytes[1];
    if (bytes.size() < 3 + ulen)
        return a;
    std::size_t plen = bytes[2 + ulen];
    if (bytes.size() < 3 + ulen + plen)
        return a;
    a.status = Status::ok;
    a.used = 3 + ulen + plen;
    return a;
}

Request parse_request(std::span<const std::uint8_t> bytes) {
    Request r;
    auto bad = [&](Reply code, std::string problem) {
        r.status = Status::bad;
        r.reply = code;
        r.problem = std::move(problem);
        return r;
    };
    if (bytes.empty())
        return r;
    if (bytes[0] != version)
        return bad(Reply::general_failure, fmt::format("request version byte {}", bytes[0]));
    if (bytes.size() < 4)
        return r;
    if (bytes[2] != 0)
        return bad(Reply::general_failure, fmt::format("reserved byte {} (want 0)", bytes[2]));
    r.command = bytes[1];
    r.address_type = bytes[3];
    std::size_t at = 4;
    switch (r.address_type) {
    case atyp_ipv4:
        if (bytes.size() < at + 4 + 2)
            return r;
        r.host = boost::asio::ip::make_address_v4(boost::asio::ip::address_v4::bytes_type{
                                                      bytes[4], bytes[5], bytes[6], bytes[7]})
                     .to_string();
        at += 4;
        break;
    case atyp_ipv6: {
        if (bytes.size() < at + 16 + 2)
            return r;
        boost::asio::ip::address_v6::bytes_type a;
        std::copy(bytes.begin() + 4, bytes.begin() + 20, a.begin());
        r.host = boost::asio::ip::make_address_v6(a).to_string();
        at += 16;
        break;
    }
    case atyp_domain: {
        if (bytes.size() < 5)
            return r;
        std::size_t len = bytes[4];
        if (len == 0)
            return bad(Reply::general_failure, "empty domain name");
        if (bytes.size() < at + 1 + len + 2)
            return r;
        r.host.assign(reinterpret_cast<const char*>(bytes.data()) + 5, len);
        at += 1 + len;
        break;
    }
    default:
        return bad(Reply::address_type_not_supported,
                   fmt::format("address type {}", r.address_type));
    }
    r.port = static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]);
    r.used = at + 2;
    r.status = Status::ok;
    if (r.command != cmd_connect) {
        r.reply = Reply::command_not_supported;
        r.problem = r.command == 0x02   ? "BIND is not supported"
                    : r.command == 0x03 ? "UDP ASSOCIATE is not supported"
                                        : fmt::format("command {}", r.command);
    }
    return r;
}

std::string reply(Reply code, std::span<const std::uint8_t> bound_address,
                  std::uint16_t bound_port) {
    std::string out{static_cast<char>(version), static_cast<char>(code), 0};
    if (bound_address.size() == 16) {
        out.push_back(static_cast<char>(atyp_ipv6));
    } else {
        out.push_back(static_cast<char>(atyp_ipv4));
    }
    if (bound_address.size() == 4 || bound_address.size() == 16) {
        out.append(reinterpret_cast<const char*>(bound_address.data()), bound_address.size());
    } else {
        out.append(4, '\0');
    }
    out.push_back(static_cast<char>(bound_port >> 8));
    out.push_back(static_cast<char>(bound_port & 0xff));
    return out;
}

} // namespace proxy::socks5
