// SOCKS5 (RFC 1928) messages, as pure parsers over the bytes received so
// far, and the replies. Username/password auth (RFC 1929) is accepted and
// its content ignored: the cell's policy is by destination, and clients
// that insist on sending credentials must still work. Only CONNECT is
// served; BIND and UDP ASSOCIATE get "command not supported". What a
// request may reach is decided by the same policy as HTTP CONNECT
// (socks_session.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace proxy::socks5 {

inline constexpr std::uint8_t version = 5;

// Authentication methods (RFC 1928 section 3).
inline constexpr std::uint8_t method_none = 0x00;
inline constexpr std::uint8_t method_password = 0x02;
inline constexpr std::uint8_t method_unacceptable = 0xff;

// Commands and address types (section 4).
inline constexpr std::uint8_t cmd_connect = 0x01;
inline constexpr std::uint8_t atyp_ipv4 = 0x01;
inline constexpr std::uint8_t atyp_domain = 0x03;
inline constexpr std::uint8_t atyp_ipv6 = 0x04;

// Reply codes (section 6).
enum class Reply : std::uint8_t {
    succeeded = 0x00,
    general_failure = 0x01,
    not_allowed = 0x02, // "connection not allowed by ruleset"
    network_unreachable = 0x03,
    host_unreachable = 0x04,
    connection_refused = 0x05,
    ttl_expired = 0x06,
    command_not_supported = 0x07,
    address_type_not_supported = 0x08,
};

enum class Status { need_more, ok, bad };

// The client's greeting: VER NMETHODS METHODS. `method` is the one we
// choose: no auth when offered, else username/password, else 0xff.
struct Greeting {
    Status status = Status::need_more;
    std::size_t used = 0;
    std::uint8_t method = method_unacceptable;
    std::string problem;
};
Greeting parse_greeting(std::span<const std::uint8_t> bytes);

// RFC 1929: VER(1) ULEN UNAME PLEN PASSWD; the content is not kept.
struct Auth {
    Status status = Status::need_more;
    std::size_t used = 0;
    std::string problem;
};
Auth parse_auth(std::span<const std::uint8_t> bytes);

// VER CMD RSV ATYP DST.ADDR DST.PORT. `host` is the domain as sent, or the
// address as text (IPv6 without brackets); `reply` says what to answer a
// request that is `bad` (or, for a well-formed one, a command we refuse).
struct Request {
    Status status = Status::need_more;
    std::size_t used = 0;
    std::uint8_t command = 0;
    std::uint8_t address_type = 0;
    std::string host;
    std::uint16_t port = 0;
    Reply reply = Reply::succeeded;
    std::string problem;
};
Request parse_request(std::span<const std::uint8_t> bytes);

// A reply: VER REP RSV ATYP BND.ADDR BND.PORT, with the bound address
// given as 4 or 16 bytes (empty: 0.0.0.0 port 0).
std::string reply(Reply code, std::span<const std::uint8_t> bound_address = {},
                  std::uint16_t bound_port = 0);

// The bytes of RFC 1929's "success" answer to a sub-negotiation.
inline constexpr std::string_view auth_ok{"\x01\x00", 2};

} // namespace proxy::socks5
