// The chunked decoder: where a body ends, and which framings are refused.
#include "proxy/chunked.hpp"

#include <catch2/catch.hpp>

using namespace proxy;

TEST_CASE("chunked decodes and stops at the end", "[chunked]") {
    struct Case {
        std::string body;
        std::string payload;
    };
    auto c = GENERATE(values<Case>({
        {"0\r\n\r\n", ""},
        {"5\r\nhello\r\n0\r\n\r\n", "hello"},
        {"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
        {"A\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
        {"a\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
        {"3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", "abc"},
        {"000003\r\nabc\r\n0\r\n\r\n", "abc"},
    }));
    // Feed all at once and byte by byte: both must agree.
    for (std::size_t step : {c.body.size() + 7, std::size_t{1}}) {
        ChunkedDecoder d;
        std::string payload;
        std::string input = c.body + "NEXT";
        std::size_t pos = 0;
        while (!d.done()) {
            REQUIRE(pos < input.size());
            auto n = d.feed(std::string_view(input).substr(pos, step), &payload);
            REQUIRE(n.has_value());
            pos += *n;
        }
        CHECK(payload == c.payload);
        CHECK(input.substr(pos) == "NEXT");
    }
}

TEST_CASE("chunked refuses malformed framing", "[chunked]") {
    auto body = GENERATE(as<std::string>{}, "\r\n", "g\r\n", "-1\r\n", "0x5\r\nhello\r\n",
                         " 5\r\nhello\r\n", "5 \r\nhello\r\n", "+5\r\nhello\r\n", "5\nhello\r\n",
                         "5\r\nhelloX\r\n", "5\r\nhello\n0\r\n\r\n", "1000000000000000\r\n",
                         "0\r\n\nX", "0\r\nX: 1\n", "5;a\nb\r\n");
    CAPTURE(body);
    ChunkedDecoder d;
    auto n = d.feed(body);
    CHECK_FALSE(n.has_value());
}
