// Endpoint parsing. Kept table-like: each accepted prefix maps to a kind and
// a role, so adding a spelling is one row, and anything else is rejected with
// the endpoint text in the message.
#include "net/endpoint.hpp"

#include "common/syntax.hpp"

#include <fmt/format.h>

#include <array>
#include <ostream>
#include <sys/un.h>

namespace relay {
namespace {

struct Spelling {
    std::string_view prefix;
    Endpoint::Kind kind;
    Endpoint::Role role;
    bool port_only; // TCP-LISTEN:PORT
};

constexpr std::array spellings{
    Spelling{"unix:", Endpoint::Kind::unix_socket, Endpoint::Role::any, false},
    Spelling{"tcp:", Endpoint::Kind::tcp, Endpoint::Role::any, false},
    Spelling{"UNIX-LISTEN:", Endpoint::Kind::unix_socket, Endpoint::Role::listen, false},
    Spelling{"UNIX-CONNECT:", Endpoint::Kind::unix_socket, Endpoint::Role::connect, false},
    Spelling{"TCP-LISTEN:", Endpoint::Kind::tcp, Endpoint::Role::listen, true},
    Spelling{"TCP:", Endpoint::Kind::tcp, Endpoint::Role::connect, false},
    Spelling{"fd:", Endpoint::Kind::inherited, Endpoint::Role::listen, false},
};

Failure fail(std::string_view text, std::string_view why) {
    return Failure{fmt::format("endpoint '{}': {}", text, why)};
}

boost::system::result<std::uint16_t, Failure> parse_port(std::string_view text,
                                                         std::string_view port) {
    auto p = common::parse_port(port);
    if (!p) {
        return fail(text, p.error());
    }
    return *p;
}

// Splits HOST:PORT at the last ':' after an optional `[v6]` literal.
boost::system::result<void, Failure> parse_host_port(std::string_view text, std::string_view rest,
                                                     Endpoint& e) {
    std::string_view host;
    std::string_view port;
    if (rest.starts_with('[')) {
        auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
            return fail(text, "expected [IPV6]:PORT");
        }
        host = rest.substr(1, close - 1);
        port = rest.substr(close + 2);
    } else {
        auto colon = rest.rfind(':');
        if (colon == std::string_view::npos) {
            return fail(text, "expected HOST:PORT");
        }
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return fail(text, "an IPv6 address must be written in brackets, [::1]:PORT");
        }
    }
    if (host.empty()) {
        return fail(text, "empty host");
    }
    // A stray bracket would make to_string() print an endpoint that does not parse.
    if (host.find_first_of("[]") != std::string_view::npos) {
        return fail(text, "brackets go around a whole IPv6 address only, [::1]:PORT");
    }
    auto p = parse_port(text, port);
    if (!p) {
        return p.error();
    }
    e.host = std::string(host);
    e.port = *p;
    return {};
}

boost::system::result<void, Failure> parse_unix_path(std::string_view text, std::string_view rest,
                                                     Endpoint& e) {
    if (rest.empty()) {
        return fail(text, "empty socket path");
    }
    // sun_path holds the path and its terminating NUL.
    if (rest.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return fail(text, fmt::format("socket path is longer than {} bytes",
                                      sizeof(sockaddr_un{}.sun_path) - 1));
    }
    if (rest.find('\0') != std::string_view::npos) {
        return fail(text, "socket path contains a NUL byte");
    }
    e.path = std::string(rest);
    return {};
}

// fd 0-2 are stdio: a listener there is a caller's mistake, not a handover.
boost::system::result<void, Failure> parse_fd(std::string_view text, std::string_view rest,
                                              Endpoint& e) {
    auto fd = common::parse_fd(rest, 3);
    if (!fd) {
        return fail(text, fd.error());
    }
    e.fd = *fd;
    return {};
}

} // namespace

boost::system::result<Endpoint, Failure> parse_endpoint(std::string_view text) {
    for (auto const& s : spellings) {
        if (!text.starts_with(s.prefix)) {
            continue;
        }
        Endpoint e;
        e.kind = s.kind;
        e.role = s.role;
        e.text = std::string(text);
        auto rest = text.substr(s.prefix.size());
        boost::system::result<void, Failure> r;
        if (s.kind == Endpoint::Kind::unix_socket) {
            r = parse_unix_path(text, rest, e);
        } else if (s.kind == Endpoint::Kind::inherited) {
            r = parse_fd(text, rest, e);
        } else if (s.port_only) {
            auto p = parse_port(text, rest);
            if (!p) {
                return p.error();
            }
            e.host = std::string(default_listen_host);
            e.port = *p;
        } else {
            r = parse_host_port(text, rest, e);
        }
        if (!r) {
            return r.error();
        }
        return e;
    }
    return fail(text,
                "unknown kind; use unix:PATH, tcp:HOST:PORT, tcp:[V6]:PORT, "
                "UNIX-LISTEN:PATH, UNIX-CONNECT:PATH, TCP-LISTEN:PORT, TCP:HOST:PORT or fd:N (an "
                "inherited listening socket)");
}

std::string role_mismatch(Endpoint const& e, Endpoint::Role side) {
    if (e.role == Endpoint::Role::any || e.role == side) {
        return {};
    }
    auto where = side == Endpoint::Role::listen ? "listen" : "connect";
    return fmt::format("endpoint '{}' cannot be used as the {} address", e.text, where);
}

std::string to_string(Endpoint const& e) {
    if (e.is_unix()) {
        return fmt::format("unix:{}", e.path);
    }
    if (e.is_inherited()) {
        return fmt::format("fd:{}", e.fd);
    }
    if (e.host.find(':') != std::string::npos) {
        return fmt::format("tcp:[{}]:{}", e.host, e.port);
    }
    return fmt::format("tcp:{}:{}", e.host, e.port);
}

std::ostream& operator<<(std::ostream& os, Endpoint const& e) {
    return os << to_string(e);
}

} // namespace relay
