// See chunked.hpp.
#include "proxy/chunked.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace proxy {
namespace {

constexpr std::size_t max_size_digits = 15; // < 2^60: no overflow
constexpr std::size_t max_line = 4096;
constexpr std::size_t max_trailers = 64 * 1024;

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

Parsed<std::size_t> ChunkedDecoder::feed(std::string_view in, std::string* payload) {
    std::size_t used = 0;
    while (used < in.size() && state_ != State::done) {
        if (state_ == State::data) {
            auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - used));
            if (payload)
                payload->append(in.substr(used, n));
            used += n;
            remaining_ -= n;
            if (remaining_ == 0)
                state_ = State::data_cr;
            continue;
        }
        auto r = step(in[used]);
        if (!r)
            return fail(r.error());
        ++used;
    }
    return used;
}

Parsed<void> ChunkedDecoder::step(char c) {
    switch (state_) {
    case State::size: {
        if (c == '\r' || c == ';') {
            if (size_digits_ == 0)
                return fail("chunk size is missing");
            state_ = c == '\r' ? State::size_lf : State::ext;
            return {};
        }
        int v = hex_value(c);
        if (v < 0)
            return fail(
                fmt::format("bad character 0x{:02x} in chunk size", static_cast<unsigned char>(c)));
        if (++size_digits_ > max_size_digits)
            return fail("chunk size is too large");
        remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(v);
        return {};
    }
    case State::ext:
        if (++line_bytes_ > max_line)
            return fail("chunk extension is too long");
        if (c == '\r')
            state_ = State::size_lf;
        else if (c == '\n')
            return fail("bare LF in chunk extension");
        return {};
    case State::size_lf:
        if (c != '\n')
            return fail("chunk size line does not end in CRLF");
        line_bytes_ = 0;
        size_digits_ = 0;
        state_ = remaining_ == 0 ? State::trailer : State::data;
        return {};
    case State::data_cr:
        if (c != '\r')
            return fail("chunk data is longer than its size");
        state_ = State::data_lf;
        return {};
    case State::data_lf:
        if (c != '\n')
            return fail("chunk data does not end in CRLF");
        state_ = State::size;
        return {};
    case State::trailer:
        if (++trailer_bytes_ > max_trailers)
            return fail("chunked trailer section is too large");
        if (c == '\r') {
            state_ = State::trailer_lf;
        } else if (c == '\n') {
            return fail("bare LF in chunked trailer");
        } else {
            ++line_bytes_;
        }
        return {};
    case State::trailer_lf:
        if (c != '\n')
            return fail("chunked trailer line does not end in CRLF");
        state_ = line_bytes_ == 0 ? State::done : State::trailer;
        line_bytes_ = 0;
        return {};
    case State::data:
    case State::done:
        break;
    }
    return {};
}

} // namespace proxy
