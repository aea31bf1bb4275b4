// Endpoint: the text a user writes for where relay listens or connects
// (`unix:/path`, `tcp:HOST:PORT`, `tcp:[V6]:PORT` and the socat spellings
// `UNIX-LISTEN:`, `UNIX-CONNECT:`, `TCP-LISTEN:`, `TCP:`), or `fd:N`, a
// listening socket the caller made and handed down (the cell launcher makes
// the proxy's inside the jail's network namespace). Parsing is pure: no
// I/O, no name resolution, so the table-driven tests cover it completely.
#pragma once

#include "net/failure.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace relay {

struct Endpoint {
    enum class Kind { unix_socket, tcp, inherited };
    // Which side a socat spelling names; the `unix:`/`tcp:` forms fit both.
    enum class Role { any, listen, connect };

    Kind kind = Kind::unix_socket;
    Role role = Role::any;
    std::string path;      // unix: the socket path
    std::string host;      // tcp: name or address literal, brackets removed
    std::uint16_t port{0}; // tcp
    int fd = -1;           // inherited: a listening socket, any family
    std::string text;      // what the user wrote, for messages

    bool is_unix() const { return kind == Kind::unix_socket; }
    bool is_inherited() const { return kind == Kind::inherited; }
};

// `TCP-LISTEN:PORT` has no host; relay binds this address (loopback, unlike
// socat's any-address default, because an accidental open port defeats a jail).
inline constexpr std::string_view default_listen_host = "127.0.0.1";

// The failure message names the endpoint text at fault.
boost::system::result<Endpoint, Failure> parse_endpoint(std::string_view text);

// Checks that a parsed endpoint may be used on the given side (a socat
// `UNIX-CONNECT:` cannot be the listen address); empty string when it fits.
std::string role_mismatch(Endpoint const& e, Endpoint::Role side);

// Human-readable form for logs: `unix:/path` or `tcp:host:port`.
std::string to_string(Endpoint const& e);
std::ostream& operator<<(std::ostream& os, Endpoint const& e);

} // namespace relay
