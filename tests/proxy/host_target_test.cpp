// Host normalisation and request-target parsing: the bypass spellings a
// filter must never see differently from the resolver.
#include "proxy/policy_names.hpp"
#include "proxy/registry_path.hpp"
#include "proxy/request_target.hpp"

#include "common/syntax.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace proxy;

TEST_CASE("normalize_host", "[host]") {
    struct Case {
        const char* raw;
        const char* want; // nullptr = refused
        HostKind kind;
    };
    auto c = GENERATE(values<Case>({
        {"example.com", "example.com", HostKind::name},
        {"EXAMPLE.Com", "example.com", HostKind::name},
        {"example.com.", "example.com", HostKind::name},
        {"example.com..", nullptr, HostKind::name},
        {".", nullptr, HostKind::name},
        {"", nullptr, HostKind::name},
        {"a..b", nullptr, HostKind::name},
        {"xn--bcher-kva.example", "xn--bcher-kva.example", HostKind::name},
        {"b\xc3\xbc"
         "cher.example",
         nullptr, HostKind::name},
        {"ex%61mple.com", nullptr, HostKind::name},
        {"127.0.0.1", "127.0.0.1", HostKind::ipv4},
        {"2130706433", nullptr, HostKind::name},
        {"0x7f.0.0.1", nullptr, HostKind::name},
        {"0177.0.0.1", nullptr, HostKind::name},
        {"127.1", nullptr, HostKind::name},
        {"127.000.000.001", nullptr, HostKind::name},
        {"1.2.3.4.example", "1.2.3.4.example", HostKind::name},
        {"::1", "::1", HostKind::ipv6},
        {"::FFFF:127.0.0.1", "::ffff:127.0.0.1", HostKind::ipv6},
        {"fe80::1%25eth0", nullptr, HostKind::ipv6},
        {"1:2", nullptr, HostKind::ipv6},
        {"exa mple.com", nullptr, HostKind::name},
        {"exa/mple.com", nullptr, HostKind::name},
        {"under_score.example", "under_score.example", HostKind::name},
    }));
    CAPTURE(c.raw);
    auto h = normalize_host(c.raw);
    if (!c.want) {
        CHECK_FALSE(h.has_value());
        return;
    }
    REQUIRE(h.has_value());
    CHECK(h->name == c.want);
    CHECK(h->kind == c.kind);
}

TEST_CASE("label and name length limits", "[host]") {
    CHECK(normalize_host(std::string(63, 'a') + ".com").has_value());
    CHECK_FALSE(normalize_host(std::string(64, 'a') + ".com").has_value());
    std::string longname;
    for (int i = 0; i < 64; ++i)
        longname += "abc.";
    CHECK_FALSE(normalize_host(longname + "com").has_value());
}

TEST_CASE("parse_authority_form", "[target]") {
    struct Case {
        const char* text;
        const char* host; // nullptr = refused
        int port;
    };
    auto c = GENERATE(values<Case>({
        {"example.com:443", "example.com", 443},
        {"Example.COM.:443", "example.com", 443},
        {"[::1]:443", "::1", 443},
        {"[2001:db8::1]:8443", "2001:db8::1", 8443},
        {"example.com", nullptr, 0},
        {"example.com:", nullptr, 0},
        {"example.com:0", nullptr, 0},
        {"example.com:65536", nullptr, 0},
        {"example.com:+443", nullptr, 0},
        {"example.com:443x", nullptr, 0},
        {"::1:443", nullptr, 0},
        {"[::1]", nullptr, 0},
        {"[::1:443", nullptr, 0},
        {"[example.com]:443", nullptr, 0},
        {"allowed.com@evil.com:443", nullptr, 0},
        {"2130706433:443", nullptr, 0},
        {"ex%61mple.com:443", nullptr, 0},
        {":443", nullptr, 0},
    }));
    CAPTURE(c.text);
    auto t = parse_authority_form(c.text);
    if (!c.host) {
        CHECK_FALSE(t.has_value());
        return;
    }
    REQUIRE(t.has_value());
    CHECK(t->host.name == c.host);
    CHECK(t->port == c.port);
}

TEST_CASE("parse_absolute_form", "[target]") {
    struct Case {
        const char* text;
        const char* host; // nullptr = refused
        int port;
        const char* origin;
        const char* host_header;
    };
    auto c = GENERATE(values<Case>({
        {"http://example.com/a?b=c", "example.com", 80, "/a?b=c", "example.com"},
        {"http://example.com", "example.com", 80, "/", "example.com"},
        {"http://example.com?q", "example.com", 80, "/?q", "example.com"},
        {"http://EXAMPLE.com.:8080/x", "example.com", 8080, "/x", "example.com:8080"},
        {"http://example.com:/x", "example.com", 80, "/x", "example.com"},
        {"http://[::1]:8080/", "::1", 8080, "/", "[::1]:8080"},
        {"http://127.0.0.1/", "127.0.0.1", 80, "/", "127.0.0.1"},
        // Boost.URL 1.81 drops this port (issue 23): the proxy must not.
        {"http://127.0.0.1.:8080/a?q", "127.0.0.1", 8080, "/a?q", "127.0.0.1:8080"},
        {"http://127.0.0.1.:8080", "127.0.0.1", 8080, "/", "127.0.0.1:8080"},
        {"http://127.0.0.1.:8080?q", "127.0.0.1", 8080, "/?q", "127.0.0.1:8080"},
        {"http://127.0.0.1./x", "127.0.0.1", 80, "/x", "127.0.0.1"},
        {"http://127.0.0.1.:99999/", nullptr, 0, nullptr, nullptr},
        {"http://127.0.0.1.:80:81/", nullptr, 0, nullptr, nullptr},
        {"http://example.com/a#frag", nullptr, 0, nullptr, nullptr},
        {"https://example.com/", nullptr, 0, nullptr, nullptr},
        {"ftp://example.com/", nullptr, 0, nullptr, nullptr},
        {"/just/a/path", nullptr, 0, nullptr, nullptr},
        {"http://allowed.com@evil.com/", nullptr, 0, nullptr, nullptr},
        {"http://user:pw@evil.com/", nullptr, 0, nullptr, nullptr},
        {"http://ex%61mple.com/", nullptr, 0, nullptr, nullptr},
        {"http://2130706433/", nullptr, 0, nullptr, nullptr},
        {"http://0x7f000001/", nullptr, 0, nullptr, nullptr},
        {"http://017700000001/", nullptr, 0, nullptr, nullptr},
        {"http://[v1.x]/", nullptr, 0, nullptr, nullptr},
        {"http://example.com:99999/", nullptr, 0, nullptr, nullptr},
        {"http:///path", nullptr, 0, nullptr, nullptr},
    }));
    CAPTURE(c.text);
    auto t = parse_absolute_form(c.text);
    if (!c.host) {
        CHECK_FALSE(t.has_value());
        return;
    }
    REQUIRE(t.has_value());
    CHECK(t->host.name == c.host);
    CHECK(t->port == c.port);
    CHECK(t->origin_form == c.origin);
    CHECK(t->host_header() == c.host_header);
}

TEST_CASE("the image cache recognises blobs by digest and nothing else", "[image_cache]") {
    const std::string d(64, 'a');
    CHECK(proxy::blob_digest("/v2/library/debian/blobs/sha256:" + d) == d);
    CHECK(proxy::blob_digest("/v2/x/blobs/sha256:" + d + "?ns=docker.io") == d);
    CHECK(proxy::blob_digest("/v2/a.b/c_d/e-f/blobs/sha256:" + d) == d);
    for (const std::string& path : std::vector<std::string>{
             "/v2/x/manifests/latest",
             "/v2/x/blobs/uploads/",
             "/v2/x/blobs/sha512:" + d,
             "/v2/x/blobs/sha256:" + d.substr(1),
             "/v2/x/blobs/sha256:" + std::string(64, 'A'),
             "/v2//blobs/sha256:" + d,
             "/v2/blobs/sha256:" + d,
             "/v2/x/../y/blobs/sha256:" + d,
             "/v2/x/%2e%2e/blobs/sha256:" + d,
             "/v3/x/blobs/sha256:" + d,
             "/v2/x//blobs/sha256:" + d,
         }) {
        INFO(path);
        CHECK_FALSE(proxy::blob_digest(path).has_value());
    }
}

TEST_CASE("--cache-registry takes HOST[:PORT], 443 by default", "[image_cache]") {
    auto r = proxy::parse_cache_registry("Registry.Example");
    REQUIRE(r.has_value());
    CHECK(r->host.name == "registry.example");
    CHECK(r->port == 443);
    r = proxy::parse_cache_registry("127.0.0.1:5000");
    REQUIRE(r.has_value());
    CHECK(r->port == 5000);
    r = proxy::parse_cache_registry("[::1]:5000");
    REQUIRE(r.has_value());
    CHECK(r->host.name == "::1");
    CHECK_FALSE(proxy::parse_cache_registry("host:0").has_value());
    CHECK_FALSE(proxy::parse_cache_registry("a@b").has_value());
}

TEST_CASE("sizes take binary units", "[image_cache]") {
    CHECK(*common::parse_size("1") == 1);
    CHECK(*common::parse_size("1K") == 1024);
    CHECK(*common::parse_size("20G") == 20ULL << 30);
    CHECK(*common::parse_size("20GiB") == 20ULL << 30);
    CHECK(*common::parse_size("3mb") == 3ULL << 20);
    CHECK(*common::parse_size("2T") == 2ULL << 40);
    for (const char* bad :
         {"", "0", "G", "1X", "1GG", "-1", "1.5G", "99999999999999999999", "17179869184T"}) {
        INFO(bad);
        CHECK_FALSE(common::parse_size(bad).has_value());
    }
}
