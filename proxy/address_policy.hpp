// Destination address policy. The proxy runs on the host, where loopback,
// the LAN and link-local cloud metadata (169.254.169.254) are reachable; a
// jailed program must not reach them through an allowed-looking name. After
// resolving, every address is checked here (v4-mapped/compatible and NAT64
// forms are unwrapped first) and the proxy connects only to an address that
// passed, so DNS rebinding cannot swap it. `--allow-private` or
// `--allow-cidr` opens ranges on purpose.
#pragma once

#include "common/syntax.hpp"
#include "proxy/parsed.hpp"

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace proxy {

// The shared CIDR syntax (common/syntax.hpp: a bare address is one host),
// plus the match.
struct Cidr : common::Cidr {
    bool contains(const boost::asio::ip::address& a) const;
};

Parsed<Cidr> parse_cidr(std::string_view text);

// The name of the special-purpose range holding `a` ("loopback",
// "link-local (cloud metadata)", ...), or nullopt for a public address.
std::optional<std::string_view> special_range(const boost::asio::ip::address& a);

struct AddressPolicy {
    bool allow_private = false;
    std::vector<Cidr> allowed;

    // Why `a` is refused, or nullopt when the proxy may connect to it.
    std::optional<std::string> refusal(const boost::asio::ip::address& a) const;
};

} // namespace proxy
