// Reading and copying HTTP/1.1 messages on a socket that comes with a buffer
// of bytes already read from it (past a head, a pipelined request, an early
// TLS ClientHello). Heads are read up to a size limit; bodies are copied
// according to their framing, byte for byte, so what the peer receives is
// exactly what was framed. Errors come back as values, not exceptions: the
// session decides what each means for the client.
#pragma once

#include "proxy/http_framing.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace proxy {

using Socket = boost::asio::generic::stream_protocol::socket;

enum class HeadStatus { complete, closed_clean, closed_partial, too_large };

struct HeadRead {
    HeadStatus status = HeadStatus::closed_clean;
    std::size_t size = 0; // bytes of buf holding the head, when complete
};

// Reads until `buf` holds a head ending in CRLF CRLF (leading empty lines
// dropped, RFC 9112 §2.2); closed_clean when the peer closed before sending
// anything, which is how an idle keep-alive connection ends. `have` tracks
// the bytes really in buf (buf itself is grown while a read is pending).
boost::asio::awaitable<HeadRead> read_head(Socket& s, std::string& buf, std::size_t limit,
                                           std::size_t& have);

// Appends what one read returns (at most `max` bytes) to buf; 0 at EOF.
boost::asio::awaitable<std::size_t> read_more(Socket& s, std::string& buf, std::size_t max,
                                              boost::system::error_code& ec);

enum class ReadNow { got, nothing, closed };

// One read that never waits: appends what `s` holds now (at most `max`
// bytes, at most 2 KiB) to buf: `got`; `nothing` when it holds nothing yet
// (buf untouched); `closed` at EOF or on an error.
ReadNow read_now(Socket& s, std::string& buf, std::size_t max);

boost::asio::awaitable<boost::system::error_code> write_all(Socket& s, std::string_view bytes);

struct CopyResult {
    std::uint64_t bytes = 0;
    bool complete = false;
    boost::system::error_code read_error;  // from the source (eof: truncated)
    boost::system::error_code write_error; // to the destination
    std::string framing_error;             // malformed chunked framing
};

// Copies one body framed by `f` from (from, buf) to `to`; bytes past the body
// stay in buf. `prefix` (a head) goes out in the same write as the first body
// bytes: a small response then costs one segment, not two (no Nagle stall).
// `progress` is called after every write (the idle watchdog).
boost::asio::awaitable<CopyResult> copy_body(Socket& from, std::string& buf, Socket& to, Framing f,
                                             std::string_view prefix,
                                             const std::function<void()>& progress);

} // namespace proxy
