// The syntax more than one program reads: TCP ports, CIDR ranges, file
// descriptor numbers and sizes. cellgen checks its flags with these, the proxy reads
// its flags and requests with them and net/ its endpoints, so `--allow-cidr
// 10.1.2.3` or `--connect-port 0443` means the same to all of them.
//
// Errors name the text ("port 'x' is not a number from 1 to 65535"); the
// caller adds the flag, endpoint or FILE:LINE.
#pragma once

#include "common/result.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace common {

// 1 to 5 ASCII digits with a value from 1 to 65535 ("080" is 80); no sign,
// no spaces.
Parsed<std::uint16_t> parse_port(std::string_view text);

// ADDRESS/PREFIX, or a bare ADDRESS meaning that one host (/32 for IPv4,
// /128 for IPv6). The prefix is 1 to 3 digits, at most 32 or 128. Host bits
// below the prefix are allowed and ignored (10.1.2.3/8 is 10.0.0.0/8).
struct Cidr {
    boost::asio::ip::address network;
    unsigned prefix = 0;
    std::string text; // as written, for messages and listings
};
Parsed<Cidr> parse_cidr(std::string_view text);

// A descriptor number of at least `min` (ASCII digits only).
Parsed<int> parse_fd(std::string_view text, int min);

// A size in bytes: digits with an optional binary unit K, M, G or T (each
// 1024 times the last; "20G", "512M", also "20GiB" and "20GB"), at least 1.
Parsed<std::uint64_t> parse_size(std::string_view text);

} // namespace common
