// See stream_io.hpp.
#include "proxy/stream_io.hpp"

#include "proxy/chunked.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>

#include <sys/socket.h>

namespace proxy {
namespace {

using boost::asio::as_tuple;
using boost::asio::use_awaitable;

constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t head_chunk = 1024;
// Bodies of known length or read until close skip the string buffer: one
// uninitialised block, bigger reads, no zero-fill or erase per chunk.
constexpr std::size_t raw_chunk = 256 * 1024;

void drop_leading_empty_lines(std::string& buf) {
    std::size_t n = 0;
    while (buf.compare(n, 2, "\r\n") == 0)
        n += 2;
    if (n > 0)
        buf.erase(0, n);
}

// The rest of a length or until-close body, straight from socket to socket.
boost::asio::awaitable<void> copy_raw(Socket& from, Socket& to, Framing f, std::uint64_t remaining,
                                      const std::function<void()>& progress, CopyResult& r) {
    std::unique_ptr<char[]> block(new char[raw_chunk]);
    for (;;) {
        if (f.kind == BodyKind::length && remaining == 0) {
            r.complete = true;
            co_return;
        }
        auto want = raw_chunk;
        if (f.kind == BodyKind::length)
            want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, raw_chunk));
        auto [rec, n] = co_await from.async_read_some(boost::asio::buffer(block.get(), want),
                                                      as_tuple(use_awaitable));
        if (n > 0) {
            auto [wec, w] = co_await boost::asio::async_write(
                to, boost::asio::buffer(block.get(), n), as_tuple(use_awaitable));
            r.write_error = wec;
            if (wec)
                co_return;
            r.bytes += n;
            remaining -= f.kind == BodyKind::length ? n : 0;
            progress();
        }
        if (rec) {
            if (f.kind == BodyKind::until_close && rec == boost::asio::error::eof)
                r.complete = true;
            else
                r.read_error = rec;
            co_return;
        }
    }
}

} // namespace

boost::asio::awaitable<std::size_t> read_more(Socket& s, std::string& buf, std::size_t max,
                                              boost::system::error_code& ec) {
    auto old = buf.size();
    buf.resize(old + max);
    auto [e, n] = co_await s.async_read_some(boost::asio::buffer(buf.data() + old, max),
                                             as_tuple(use_awaitable));
    buf.resize(old + n);
    ec = e;
    co_return n;
}

boost::asio::awaitable<HeadRead> read_head(Socket& s, std::string& buf, std::size_t limit,
                                           std::size_t& have) {
    std::size_t scanned = 0;
    for (;;) {
        drop_leading_empty_lines(buf);
        have = buf.size();
        auto end = buf.find("\r\n\r\n", scanned > 3 ? scanned - 3 : 0);
        if (end != std::string::npos && end + 4 <= limit)
            co_return HeadRead{HeadStatus::complete, end + 4};
        if (buf.size() >= limit)
            co_return HeadRead{HeadStatus::too_large, 0};
        scanned = buf.size();
        boost::system::error_code ec;
        // Start small and grow: an idle connection waiting for its head
        // should cost a page, not 64 KiB of zeroed buffer.
        auto chunk = std::clamp<std::size_t>(buf.size(), head_chunk, read_chunk);
        auto n = co_await read_more(s, buf, std::min(chunk, limit + 4 - buf.size()), ec);
        have = buf.size();
        if (n == 0 || ec)
            co_return HeadRead{buf.empty() ? HeadStatus::closed_clean : HeadStatus::closed_partial,
                               0};
    }
}

ReadNow read_now(Socket& s, std::string& buf, std::size_t max) {
    // Through the stack: a tunnel whose client has not spoken yet (most of
    // a thousand idle ones) must not keep a buffer for it.
    std::array<char, 2048> chunk;
    ssize_t n;
    do
        n = ::recv(s.native_handle(), chunk.data(), std::min(max, chunk.size()), MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        buf.append(chunk.data(), static_cast<std::size_t>(n));
        return ReadNow::got;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? ReadNow::nothing : ReadNow::closed;
}

boost::asio::awaitable<boost::system::error_code> write_all(Socket& s, std::string_view bytes) {
    auto [ec, n] = co_await boost::asio::async_write(
        s, boost::asio::buffer(bytes.data(), bytes.size()), as_tuple(use_awaitable));
    co_return ec;
}

boost::asio::awaitable<CopyResult> copy_body(Socket& from, std::string& buf, Socket& to, Framing f,
                                             std::string_view prefix,
                                             const std::function<void()>& progress) {
    CopyResult r;
    ChunkedDecoder chunked;
    std::uint64_t remaining = f.length;
    for (;;) {
        // Forward what the buffer holds of the body.
        std::size_t take = buf.size();
        if (f.kind == BodyKind::length)
            take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buf.size()));
        if (f.kind == BodyKind::chunked) {
            auto used = chunked.feed(buf);
            if (!used) {
                r.framing_error = used.error();
                co_return r;
            }
            take = *used;
        }
        if (take > 0 || !prefix.empty()) {
            std::array<boost::asio::const_buffer, 2> out{
                boost::asio::buffer(prefix.data(), prefix.size()),
                boost::asio::buffer(buf.data(), take)};
            auto [ec, n] = co_await boost::asio::async_write(to, out, as_tuple(use_awaitable));
            prefix = {};
            r.write_error = ec;
            if (r.write_error)
                co_return r;
            buf.erase(0, take);
            r.bytes += take;
            remaining -= f.kind == BodyKind::length ? take : 0;
            progress();
        }
        if (f.kind == BodyKind::none || (f.kind == BodyKind::length && remaining == 0) ||
            (f.kind == BodyKind::chunked && chunked.done())) {
            r.complete = true;
            co_return r;
        }
        if (f.kind == BodyKind::length || f.kind == BodyKind::until_close) {
            co_await copy_raw(from, to, f, remaining, progress, r);
            co_return r;
        }
        std::size_t want = read_chunk;
        if (f.kind == BodyKind::length)
            want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, read_chunk));
        auto n = co_await read_more(from, buf, want, r.read_error);
        if (n == 0) {
            if (f.kind == BodyKind::until_close && r.read_error == boost::asio::error::eof) {
                r.read_error = {};
                r.complete = true;
            } else if (!r.read_error) {
                r.read_error = boost::asio::error::eof;
            }
            co_return r;
        }
    }
}

} // namespace proxy
