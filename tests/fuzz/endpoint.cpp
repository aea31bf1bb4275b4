// Fuzz target: the endpoint parser (net/endpoint.cpp). Properties, for every accepted
// endpoint text:
//  - it round-trips: parse -> to_string -> parse gives the same kind, path,
//    host and port (to_string is what relay logs and what tests feed back);
//  - a unix path fits sun_path and has no NUL, a tcp port is 1..65535, an
//    inherited fd (`fd:N`, listen side only) is 3 or more;
//  - a rejection names the endpoint text.
#include "tests/fuzz/check.hpp"

#include "net/endpoint.hpp"

#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using relay::Endpoint;

bool same_place(const Endpoint& a, const Endpoint& b) {
    return a.kind == b.kind && a.path == b.path && a.host == b.host && a.port == b.port &&
           a.fd == b.fd;
}

void check_fields(const Endpoint& e) {
    if (e.is_unix()) {
        FUZZ_CHECK(!e.path.empty() && e.path.size() < sizeof(sockaddr_un{}.sun_path));
        FUZZ_CHECK(e.path.find('\0') == std::string::npos);
        FUZZ_CHECK(e.host.empty() && e.port == 0);
    } else if (e.is_inherited()) {
        FUZZ_CHECK(e.fd >= 3 && e.role == Endpoint::Role::listen);
        FUZZ_CHECK(e.path.empty() && e.host.empty() && e.port == 0);
    } else {
        FUZZ_CHECK(!e.host.empty() && e.port != 0);
        FUZZ_CHECK(e.path.empty());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto e = relay::parse_endpoint(text);
    if (!e) {
        FUZZ_CHECK(e.error().message.starts_with("endpoint '"));
        return 0;
    }
    FUZZ_CHECK(e->text == text);
    check_fields(*e);
    (void)relay::role_mismatch(*e, Endpoint::Role::listen);
    (void)relay::role_mismatch(*e, Endpoint::Role::connect);
    auto shown = relay::to_string(*e);
    auto again = relay::parse_endpoint(shown);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(same_place(*again, *e));
    // The canonical form fits either side, but for an inherited socket,
    // which can only be listened on.
    FUZZ_CHECK(again->role == (e->is_inherited() ? Endpoint::Role::listen : Endpoint::Role::any));
    FUZZ_CHECK(relay::to_string(*again) == shown);
    return 0;
}
