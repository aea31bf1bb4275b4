// --allow/--deny patterns, public-suffix refusal and the combined decision.
#include "proxy/policy.hpp"
#include "proxy/policy_names.hpp"

#include <catch2/catch.hpp>

using namespace proxy;

namespace {

const PublicSuffixes& suffixes() {
    static const auto s =
        PublicSuffixes::parse("// comment\ncom\nuk\nco.uk\ngithub.io\n*.ck\n!www.ck\n");
    return s;
}

Host host(const char* h) {
    return *normalize_host(h);
}

} // namespace

TEST_CASE("public suffixes", "[policy]") {
    CHECK(suffixes().is_public_suffix("com"));
    CHECK(suffixes().is_public_suffix("unlisted"));
    CHECK(suffixes().is_public_suffix("co.uk"));
    CHECK(suffixes().is_public_suffix("github.io"));
    CHECK(suffixes().is_public_suffix("foo.ck"));
    CHECK_FALSE(suffixes().is_public_suffix("www.ck"));
    CHECK_FALSE(suffixes().is_public_suffix("example.com"));
    CHECK_FALSE(suffixes().is_public_suffix("example.co.uk"));
    // The list is searched as text: a rule on the first or last line, one
    // ending in a blank or CR, and no match inside a longer rule or a comment.
    auto text =
        PublicSuffixes::parse("co.uk\r\n// in.comment.org\nsub.github.io extra\nappspot.com");
    CHECK(text.is_public_suffix("co.uk"));
    CHECK(text.is_public_suffix("sub.github.io"));
    CHECK(text.is_public_suffix("appspot.com"));
    CHECK_FALSE(text.is_public_suffix("uk.co"));
    CHECK_FALSE(text.is_public_suffix("github.io"));
    CHECK_FALSE(text.is_public_suffix("comment.org"));
    CHECK_FALSE(text.is_public_suffix("spot.com"));
    CHECK_FALSE(PublicSuffixes::load("/nonexistent/list").is_public_suffix("co.uk"));
    CHECK(PublicSuffixes::load("/nonexistent/list").is_public_suffix("uk"));
}

TEST_CASE("domain patterns match", "[policy]") {
    struct Case {
        const char* pattern;
        const char* host;
        int port;
        bool match;
    };
    auto c = GENERATE(values<Case>({
        {"example.com", "example.com", 443, true},
        {"example.com", "EXAMPLE.com.", 443, true},
        {"example.com", "www.example.com", 443, false},
        {"example.com", "example.com.evil.net", 443, false},
        {"example.com", "badexample.com", 443, false},
        {"*.example.com", "www.example.com", 443, true},
        {"*.example.com", "a.b.example.com", 443, true},
        {"*.example.com", "example.com", 443, false},
        {"*.example.com", "wwwexample.com", 443, false},
        {"**.example.com", "example.com", 443, true},
        {"**.example.com", "a.example.com", 80, true},
        {"example.com:443", "example.com", 443, true},
        {"example.com:443", "example.com", 80, false},
        {"**.Example.COM:8443", "x.example.com", 8443, true},
        {"10.0.0.5", "10.0.0.5", 80, true},
        {"[::1]:443", "::1", 443, true},
        {"::1", "::1", 80, true},
    }));
    CAPTURE(c.pattern, c.host);
    auto p = parse_domain_pattern(c.pattern, suffixes());
    REQUIRE(p.has_value());
    CHECK(p->matches(host(c.host), static_cast<std::uint16_t>(c.port)) == c.match);
}

TEST_CASE("domain patterns refused", "[policy]") {
    auto text = GENERATE("*.com", "**.com", "*.co.uk", "**.github.io", "*.foo.ck", "*", "**",
                         "ex*ample.com", "example.*", "*.10.0.0.1", "example.com:0",
                         "example.com:http", "[::1", "ex%61mple.com",
                         "b\xc3\xbc"
                         "cher.de",
                         "*.", "");
    CAPTURE(text);
    CHECK_FALSE(parse_domain_pattern(text, suffixes()).has_value());
}

TEST_CASE("public-suffix error says why", "[policy]") {
    auto p = parse_domain_pattern("*.com", suffixes());
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error().find("broader than a registrable domain") != std::string::npos);
}

TEST_CASE("policy decisions", "[policy]") {
    Policy none;
    CHECK(none.decide(host("anything.example"), 443, true).allowed);
    CHECK_FALSE(none.decide(host("anything.example"), 22, true).allowed);
    CHECK(none.decide(host("anything.example"), 8080, false).allowed); // ports: CONNECT only

    Policy p;
    p.allow.push_back(*parse_domain_pattern("**.example.com", suffixes()));
    p.deny.push_back(*parse_domain_pattern("secret.example.com", suffixes()));
    p.filter = *Filter::parse("^github\\.com$\n", "flt", {});
    CHECK(p.decide(host("example.com"), 443, true).allowed);
    CHECK(p.decide(host("github.com"), 443, true).allowed);
    CHECK(p.decide(host("github.com"), 443, true).reason == "filter flt:1");
    CHECK(p.decide(host("www.example.com"), 443, true).reason == "allow **.example.com");
    auto denied = p.decide(host("secret.example.com"), 443, true);
    CHECK_FALSE(denied.allowed);
    CHECK(denied.reason == "deny secret.example.com");
    auto other = p.decide(host("evil.net"), 443, true);
    CHECK_FALSE(other.allowed);
    CHECK(other.how_to_allow == "add --allow evil.net or the line '^evil\\.net$' to flt");
    auto port = p.decide(host("github.com"), 8443, true);
    CHECK_FALSE(port.allowed);
    CHECK(port.reason == "port 8443");
    CHECK(
        port.how_to_allow ==
        "add --allow github.com:8443 (this host only) or --connect-port 8443 (every allowed host)");
    CHECK(p.decide(host("github.com"), 8443, false).allowed); // absolute-form HTTP: any port

    // --default-deny (what a cell passes unless --allow-all): no allowlist
    // refuses every domain, and says how to allow it.
    Policy deny_all;
    deny_all.default_deny = true;
    auto refused = deny_all.decide(host("anything.example"), 443, true);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.why == "the cell allows no domain (deny by default)");
    CHECK(refused.how_to_allow == "add --allow anything.example (or --allow-all for every domain)");
    deny_all.allow.push_back(*parse_domain_pattern("ok.example", suffixes()));
    CHECK(deny_all.decide(host("ok.example"), 443, true).allowed);

    // Allow-all still keeps CONNECT to its ports.
    auto closed = none.decide(host("anything.example"), 22, true);
    CHECK(closed.how_to_allow == "add --connect-port 22");

    Policy only_filter;
    only_filter.filter = *Filter::parse("", "empty", {});
    CHECK_FALSE(only_filter.decide(host("github.com"), 443, true).allowed);
}

TEST_CASE("a rule with a port opens that port for its hosts alone", "[policy]") {
    Policy p;
    p.default_deny = true;
    p.allow.push_back(*parse_domain_pattern("github.com:22", suffixes()));
    p.allow.push_back(*parse_domain_pattern("example.org", suffixes()));
    p.filter = *Filter::parse("^db\\.example$ port=5432\n", "flt", {});
    CHECK(p.decide(host("github.com"), 22, true).allowed);
    CHECK(p.decide(host("github.com"), 22, true).reason == "allow github.com:22");
    CHECK_FALSE(p.decide(host("github.com"), 443, true).allowed); // the rule is port 22 only
    CHECK(p.decide(host("example.org"), 443, true).allowed);
    auto other_host = p.decide(host("example.org"), 22, true); // 22 is not open for it
    CHECK_FALSE(other_host.allowed);
    CHECK(other_host.reason == "port 22");
    CHECK(other_host.how_to_allow.starts_with("add --allow example.org:22"));
    auto unknown = p.decide(host("gitlab.com"), 22, true);
    CHECK_FALSE(unknown.allowed);
    CHECK(unknown.reason == "not allowed");
    CHECK(unknown.how_to_allow ==
          "add --allow gitlab.com:22 or the line '^gitlab\\.com$ port=22' to flt");
    CHECK(p.decide(host("db.example"), 5432, true).reason == "filter flt:1");
    CHECK_FALSE(p.decide(host("db.example"), 443, true).allowed);

    // Deny still wins over a port rule.
    p.deny.push_back(*parse_domain_pattern("github.com", suffixes()));
    CHECK(p.decide(host("github.com"), 22, true).reason == "deny github.com");
}
