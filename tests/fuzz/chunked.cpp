// Fuzz target: the chunked body decoder. Properties, for every input:
//  - fed in 1-byte pieces, and in two pieces split inside the input, it
//    gives the same result as fed whole (bytes used, done, payload, error),
//    so where a body ends never depends on how TCP cut the stream;
//  - a decoded payload, encoded again as chunks, decodes to itself.
#include "tests/fuzz/check.hpp"

#include "proxy/chunked.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using proxy::ChunkedDecoder;

struct Outcome {
    bool error = false;
    std::size_t used = 0;
    bool done = false;
    std::string payload;

    bool operator==(const Outcome&) const = default;
};

// Feeds `text` in the given pieces the way the proxy does: each feed gets
// the bytes not used yet, and feeding stops at the end of the body.
Outcome decode(std::string_view text, std::size_t piece) {
    ChunkedDecoder decoder;
    Outcome out;
    while (out.used < text.size() && !decoder.done()) {
        auto r = decoder.feed(text.substr(out.used, piece), &out.payload);
        if (!r) {
            out.error = true; // where it failed differs: a failing feed uses nothing
            out.used = 0;
            break;
        }
        FUZZ_CHECK(*r <= piece);
        out.used += *r;
    }
    out.done = decoder.done();
    return out;
}

Outcome decode_split(std::string_view text, std::size_t cut) {
    ChunkedDecoder decoder;
    Outcome out;
    for (auto part : {text.substr(0, cut), text.substr(cut)}) {
        if (decoder.done())
            break;
        auto r = decoder.feed(part, &out.payload);
        if (!r) {
            out.error = true;
            out.used = 0;
            break;
        }
        out.used += *r;
        if (!decoder.done())
            FUZZ_CHECK(*r == part.size());
    }
    out.done = decoder.done();
    return out;
}

std::string encode(std::string_view payload) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    // Uneven chunk sizes (1, 2, 3, ...) so chunk boundaries move around.
    for (std::size_t n = 1; !payload.empty(); ++n) {
        auto chunk = payload.substr(0, n);
        std::string size;
        for (auto v = chunk.size(); v > 0; v /= 16)
            size.insert(size.begin(), hex[v % 16]);
        out += size + "\r\n" + std::string(chunk) + "\r\n";
        payload.remove_prefix(chunk.size());
    }
    return out + "0\r\n\r\n";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto whole = decode(text, text.size() + 1);
    FUZZ_CHECK(decode(text, 1) == whole);
    FUZZ_CHECK(decode_split(text, text.size() / 3) == whole);
    if (whole.done) {
        auto encoded = encode(whole.payload);
        auto again = decode(encoded, encoded.size() + 1);
        FUZZ_CHECK(again.done && !again.error && again.used == encoded.size());
        FUZZ_CHECK(again.payload == whole.payload);
    }
    return 0;
}
