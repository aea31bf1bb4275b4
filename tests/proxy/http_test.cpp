// Request/response heads, body framing and the forwarded rewrite.
#include "proxy/http_framing.hpp"
#include "proxy/http_head.hpp"
#include "proxy/http_rewrite.hpp"

#include <catch2/catch.hpp>

using namespace proxy;

namespace {

std::string head(std::string first, std::initializer_list<std::string> fields) {
    std::string s = first + "\r\n";
    for (const auto& f : fields)
        s += f + "\r\n";
    return s + "\r\n";
}

} // namespace

TEST_CASE("parse_request_head accepts and splits", "[http]") {
    auto r = parse_request_head(
        head("GET http://a.example/x HTTP/1.1", {"Host: a.example", "X-Y:  spaced value \t"}));
    REQUIRE(r.has_value());
    CHECK(r->method == "GET");
    CHECK(r->target == "http://a.example/x");
    CHECK(r->minor_version == 1);
    REQUIRE(r->fields.size() == 2);
    CHECK(r->fields[1].name == "X-Y");
    CHECK(r->fields[1].value == "spaced value");
}

TEST_CASE("parse_request_head refuses", "[http]") {
    struct Case {
        std::string text;
        HeadError kind;
    };
    auto c = GENERATE(values<Case>({
        {head("GET  http://a/ HTTP/1.1", {}), HeadError::malformed},
        {head("GET http://a/ HTTP/2.0", {}), HeadError::malformed},
        {head("GET http://a/", {}), HeadError::malformed},
        {head("G(T http://a/ HTTP/1.1", {}), HeadError::malformed},
        {head("GET http://a/ HTTP/1.1", {"Host : a"}), HeadError::malformed},
        {head("GET http://a/ HTTP/1.1", {"Host: a", " folded"}), HeadError::malformed},
        {head("GET http://a/ HTTP/1.1", {"NoColon"}), HeadError::malformed},
        {head("GET http://a/ HTTP/1.1", {"X: a\rb"}), HeadError::malformed},
        {head("GET http://a/ HTTP/1.1", {"X: a\nb"}), HeadError::malformed},
        {head("GET http://a/ HTTP/1.1", {"X: a\x01"}), HeadError::malformed},
        {std::string("GET http://a/ HTTP/1.1\r\n"), HeadError::malformed},
        {head("GET http://a/ HTTP/1.1", {"X: " + std::string(70000, 'a')}), HeadError::too_large},
    }));
    auto r = parse_request_head(c.text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().kind == c.kind);
}

TEST_CASE("too many header fields is 431", "[http]") {
    std::string s = "GET http://a/ HTTP/1.1\r\n";
    for (int i = 0; i < 300; ++i)
        s += "X: y\r\n";
    auto r = parse_request_head(s + "\r\n");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().kind == HeadError::too_large);
}

TEST_CASE("parse_response_head", "[http]") {
    auto r = parse_response_head(head("HTTP/1.1 404 Not Found", {"Content-Length: 3"}));
    REQUIRE(r.has_value());
    CHECK(r->status == 404);
    CHECK(r->reason == "Not Found");
    CHECK(parse_response_head(head("HTTP/1.1 200", {})).has_value());
    CHECK_FALSE(parse_response_head(head("HTTP/1.1 20 OK", {})).has_value());
    CHECK_FALSE(parse_response_head(head("HTTP/1.1 2000 OK", {})).has_value());
    CHECK_FALSE(parse_response_head(head("ICY 200 OK", {})).has_value());
}

TEST_CASE("request_framing", "[http][framing]") {
    struct Case {
        std::string version;
        std::vector<std::string> fields;
        bool ok;
        Framing want;
    };
    auto c = GENERATE(values<Case>({
        {"1.1", {}, true, {}},
        {"1.1", {"Content-Length: 10"}, true, {BodyKind::length, 10}},
        {"1.1", {"Content-Length: 0"}, true, {}},
        {"1.1", {"Transfer-Encoding: chunked"}, true, {BodyKind::chunked, 0}},
        {"1.1", {"Transfer-Encoding: Chunked"}, true, {BodyKind::chunked, 0}},
        {"1.1", {"Transfer-Encoding: gzip, chunked"}, true, {BodyKind::chunked, 0}},
        {"1.1",
         {"Transfer-Encoding: gzip", "Transfer-Encoding: chunked"},
         true,
         {BodyKind::chunked, 0}},
        {"1.1", {"Transfer-Encoding: chunked, gzip"}, false, {}},
        {"1.1", {"Transfer-Encoding: chunked, chunked"}, false, {}},
        {"1.1", {"Transfer-Encoding: identity"}, false, {}},
        {"1.1", {"Transfer-Encoding: xchunked"}, false, {}},
        {"1.1", {"Transfer-Encoding: "}, false, {}},
        {"1.0", {"Transfer-Encoding: chunked"}, false, {}},
        {"1.1", {"Content-Length: 5", "Transfer-Encoding: chunked"}, false, {}},
        {"1.1", {"Content-Length: 5", "Content-Length: 5"}, false, {}},
        {"1.1", {"Content-Length: 5", "Content-Length: 6"}, false, {}},
        {"1.1", {"Content-Length: 5, 5"}, false, {}},
        {"1.1", {"Content-Length: -1"}, false, {}},
        {"1.1", {"Content-Length: +5"}, false, {}},
        {"1.1", {"Content-Length: 0x10"}, false, {}},
        {"1.1", {"Content-Length: 99999999999999999999"}, false, {}},
        {"1.1", {"Content-Length:"}, false, {}},
    }));
    RequestHead req;
    req.minor_version = c.version == "1.0" ? 0 : 1;
    for (const auto& f : c.fields) {
        auto colon = f.find(':');
        auto value = f.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
            value.erase(0, 1);
        while (!value.empty() && value.back() == ' ')
            value.pop_back();
        req.fields.push_back({f.substr(0, colon), value});
    }
    CAPTURE(c.fields);
    auto f = request_framing(req);
    REQUIRE(f.has_value() == c.ok);
    if (c.ok)
        CHECK(*f == c.want);
}

TEST_CASE("response_framing", "[http][framing]") {
    ResponseHead res;
    res.status = 200;
    CHECK(response_framing(res, "GET")->kind == BodyKind::until_close);
    CHECK(response_framing(res, "HEAD")->kind == BodyKind::none);
    res.fields = {{"Content-Length", "7"}};
    CHECK(*response_framing(res, "GET") == Framing{BodyKind::length, 7});
    res.status = 304;
    CHECK(response_framing(res, "GET")->kind == BodyKind::none);
    res.status = 204;
    CHECK(response_framing(res, "GET")->kind == BodyKind::none);
    res.status = 200;
    res.fields = {{"Transfer-Encoding", "chunked"}};
    CHECK(response_framing(res, "GET")->kind == BodyKind::chunked);
    res.fields = {{"Transfer-Encoding", "gzip"}};
    CHECK(response_framing(res, "GET")->kind == BodyKind::until_close);
    res.fields = {{"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}};
    CHECK_FALSE(response_framing(res, "GET").has_value());
}

TEST_CASE("keeps_alive", "[http]") {
    CHECK(keeps_alive(1, {}));
    CHECK_FALSE(keeps_alive(1, {{"Connection", "close"}}));
    CHECK_FALSE(keeps_alive(1, {{"Connection", "foo, Close"}}));
    CHECK_FALSE(keeps_alive(0, {}));
    CHECK(keeps_alive(0, {{"Connection", "keep-alive"}}));
}

TEST_CASE("upstream_request_head rewrites", "[http][rewrite]") {
    auto req = parse_request_head(head(
        "GET http://a.example:8080/p?q HTTP/1.0",
        {"Host: evil.example", "Connection: close, X-Secret", "X-Secret: 1",
         "Proxy-Connection: keep-alive", "Proxy-Authorization: Basic eA==", "Keep-Alive: 5",
         "TE: trailers", "Trailer: X", "Upgrade: websocket", "Accept: */*", "Via: 1.0 other"}));
    REQUIRE(req.has_value());
    auto target = parse_absolute_form(req->target);
    REQUIRE(target.has_value());
    auto out = upstream_request_head(*req, *target);
    CHECK(out == "GET /p?q HTTP/1.1\r\nHost: a.example:8080\r\nAccept: */*\r\n"
                 "Via: 1.0 other\r\nVia: 1.1 unsafe-cell\r\n\r\n");
}

TEST_CASE("client_response_head rewrites", "[http][rewrite]") {
    auto res = parse_response_head(
        head("HTTP/1.0 200 OK",
             {"Connection: keep-alive", "Keep-Alive: timeout=5", "Content-Length: 2"}));
    REQUIRE(res.has_value());
    CHECK(client_response_head(*res, false) ==
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nVia: 1.1 unsafe-cell\r\n\r\n");
    CHECK(client_response_head(*res, true) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                              "Via: 1.1 unsafe-cell\r\nConnection: close\r\n\r\n");
}
