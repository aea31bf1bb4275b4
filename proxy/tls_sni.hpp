// Server Name Indication from a TLS ClientHello (RFC 8446 §4.1.2, RFC 6066
// §3), read from the bytes a CONNECT client sent first, without consuming
// them (they are forwarded unchanged afterwards). The proxy compares the SNI
// with the CONNECT host, so an allowed address cannot be used to reach a
// forbidden name served by the same front end.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace proxy {

struct SniResult {
    enum class Status {
        need_more, // a TLS handshake record has started but is incomplete
        not_tls,   // first byte is not a handshake record: not our business
        no_sni,    // a complete ClientHello without server_name
        sni,       // `name` holds the (lower-cased, trailing-dot-less) name
        malformed, // starts like TLS but does not parse
    };
    Status status = Status::need_more;
    std::string name;
    std::string problem; // for malformed
};

// Accepts a ClientHello split across several handshake records; gives up
// (malformed) past 64 KiB.
SniResult inspect_client_hello(std::span<const std::uint8_t> bytes);

} // namespace proxy
