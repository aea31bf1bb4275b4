// libFuzzer target for every parser that reads bytes from the network
// (built with -Dfuzz=true and clang). Each must return a value or an error
// for any input, never crash, hang or read out of bounds. Filter files are
// left out: they are trusted configuration, and glibc's regcomp itself
// needs unbounded memory for patterns like `a+++++...` (tinyproxy too).
#include "chunked.hpp"
#include "host_normalize.hpp"
#include "http_framing.hpp"
#include "http_head.hpp"
#include "request_target.hpp"
#include "tls_sni.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto req = proxy::parse_request_head(text)) {
        (void)proxy::request_framing(*req);
        (void)proxy::parse_absolute_form(req->target);
        (void)proxy::parse_authority_form(req->target);
    }
    if (auto res = proxy::parse_response_head(text))
        (void)proxy::response_framing(*res, "GET");
    proxy::ChunkedDecoder chunked;
    (void)chunked.feed(text);
    (void)proxy::inspect_client_hello(std::span(data, size));
    (void)proxy::normalize_host(text);
    return 0;
}
