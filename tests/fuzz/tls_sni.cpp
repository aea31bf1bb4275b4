// Fuzz target: the TLS ClientHello reader that finds the SNI of a CONNECT
// tunnel. The proxy reads a ClientHello in small pieces and asks again after
// each, so the properties are about prefixes:
//  - once an input is decided (sni, no_sni, not_tls, malformed), every
//    longer input gives the same answer and every prefix is either still
//    undecided (need_more) or already that answer;
//  - a name comes out lower-case, without a trailing dot, never empty.
#include "tests/fuzz/check.hpp"

#include "proxy/tls_sni.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace {

using proxy::SniResult;
using Status = SniResult::Status;

constexpr std::size_t every_prefix_up_to = 512;

bool same(const SniResult& a, const SniResult& b) {
    return a.status == b.status && a.name == b.name;
}

void check_name(const SniResult& r) {
    if (r.status != Status::sni)
        return;
    FUZZ_CHECK(!r.name.empty() && r.name.back() != '.');
    FUZZ_CHECK(
        std::none_of(r.name.begin(), r.name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
}

void check_prefix(std::span<const std::uint8_t> bytes, std::size_t n, const SniResult& whole) {
    auto r = proxy::inspect_client_hello(bytes.first(n));
    FUZZ_CHECK(r.status == Status::need_more || same(r, whole));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> bytes(data, size);
    auto whole = proxy::inspect_client_hello(bytes);
    check_name(whole);
    if (whole.status == Status::need_more)
        return 0;
    std::vector<std::uint8_t> longer(bytes.begin(), bytes.end());
    longer.insert(longer.end(), {22, 3, 1, 0, 1, 0});
    FUZZ_CHECK(same(proxy::inspect_client_hello(longer), whole));
    if (size <= every_prefix_up_to) {
        for (std::size_t n = 0; n < size; ++n)
            check_prefix(bytes, n, whole);
    } else {
        for (std::size_t n = 0; n < size; n += size / 64)
            check_prefix(bytes, n, whole);
    }
    return 0;
}
