// Message body framing (RFC 9112 §6): how many bytes after a head belong to
// its body, and whether the connection may carry another message. The rules
// that close smuggling holes live here: Content-Length together with
// Transfer-Encoding, repeated or list-valued Content-Length, and any
// Transfer-Encoding that does not end in chunked are refused.
#pragma once

#include "proxy/http_head.hpp"
#include "proxy/parsed.hpp"

#include <cstdint>
#include <string_view>

namespace proxy {

enum class BodyKind { none, length, chunked, until_close };

struct Framing {
    BodyKind kind = BodyKind::none;
    std::uint64_t length = 0; // for BodyKind::length
    bool operator==(const Framing&) const = default;
};

Parsed<Framing> request_framing(const RequestHead& req);
// A response's framing also depends on the request it answers (HEAD).
Parsed<Framing> response_framing(const ResponseHead& res, std::string_view request_method);

// Whether the sender of a message with these fields and version wants to
// keep the connection open after it.
bool keeps_alive(int minor_version, const HeaderFields& fields);

} // namespace proxy
