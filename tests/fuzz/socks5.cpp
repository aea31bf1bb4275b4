// Fuzz target: the SOCKS5 greeting, auth and request readers (proxy/socks5.hpp).
// The proxy parses what it has received so far and asks again after each
// read, so the properties are about prefixes:
//  - an input that is decided (ok or bad) gives the same answer for every
//    longer input, and every prefix is need_more or already that answer;
//  - `used` never exceeds the input, a request's host is never empty, and a
//    domain host has the length its length byte says.
#include "tests/fuzz/check.hpp"

#include "proxy/socks5.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace {

using namespace proxy::socks5;

template <typename Parse>
void check_prefixes(std::span<const std::uint8_t> bytes, Parse parse) {
    auto whole = parse(bytes);
    FUZZ_CHECK(whole.used <= bytes.size());
    if (whole.status == Status::need_more)
        return;
    for (std::size_t n = 0; n < bytes.size() && n < 300; ++n) {
        auto r = parse(bytes.first(n));
        FUZZ_CHECK(r.status == Status::need_more || r.status == whole.status);
        if (r.status == Status::ok)
            FUZZ_CHECK(r.used == whole.used);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> bytes(data, size);
    check_prefixes(bytes, parse_greeting);
    check_prefixes(bytes, parse_auth);
    check_prefixes(bytes, parse_request);
    auto r = parse_request(bytes);
    if (r.status == Status::ok) {
        FUZZ_CHECK(!r.host.empty());
        if (r.address_type == atyp_domain)
            FUZZ_CHECK(r.host.size() == bytes[4]);
        FUZZ_CHECK(r.used <= size);
    }
    return 0;
}
