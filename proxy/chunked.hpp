// Incremental chunked transfer-coding decoder (RFC 9112 §7.1). The proxy
// forwards chunked bodies byte for byte; the decoder only tells where the
// body ends and refuses malformed framing (sizes that are not plain hex,
// overflow, missing CRLF) so a smuggled second request cannot hide in it.
#pragma once

#include "proxy/parsed.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace proxy {

class ChunkedDecoder {
public:
    // Consumes a prefix of `in` and returns its length; stops at the end of
    // the body (done() then) so bytes after it stay with the caller. When
    // `payload` is given the chunk data is appended to it (for tests).
    Parsed<std::size_t> feed(std::string_view in, std::string* payload = nullptr);
    bool done() const { return state_ == State::done; }

private:
    enum class State { size, ext, size_lf, data, data_cr, data_lf, trailer, trailer_lf, done };
    Parsed<void> step(char c);

    State state_ = State::size;
    std::uint64_t remaining_ = 0;
    std::size_t size_digits_ = 0;
    std::size_t line_bytes_ = 0;    // bytes of the current size or trailer line
    std::size_t trailer_bytes_ = 0; // all trailer bytes, bounded like a head
};

} // namespace proxy
