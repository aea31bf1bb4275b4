// Generated error responses and the access-log line format.
#include "proxy/access_log.hpp"
#include "proxy/status_page.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace proxy;

TEST_CASE("render_error carries Proxy-Status", "[status]") {
    auto r = render_error({403, "http_request_denied", "denied \"x\"", "body\n"});
    CHECK(r.starts_with("HTTP/1.1 403 Forbidden\r\n"));
    CHECK(r.find("Proxy-Status: unsafe-cell; error=http_request_denied; "
                 "details=\"denied \\\"x\\\"\"\r\n") != std::string::npos);
    CHECK(r.find("Content-Length: 5\r\n") != std::string::npos);
    CHECK(r.ends_with("\r\n\r\nbody\n"));
    for (int s : {400, 403, 408, 431, 501, 502, 503, 504})
        CHECK(reason_phrase(s) != "Error");
}

TEST_CASE("forbidden_body names host and remedy", "[status]") {
    auto b = forbidden_body("evil.net", 443, "the host is not in the cell's allowlist",
                            "add --allow evil.net");
    CHECK(b.find("evil.net:443") != std::string::npos);
    CHECK(b.find("deliberate") != std::string::npos);
    CHECK(b.find("--allow evil.net") != std::string::npos);
}

TEST_CASE("access log line has exactly the agreed keys", "[log]") {
    AccessRecord r;
    r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
    r.client = "127.0.0.1:5000";
    r.method = "CONNECT";
    r.host = "example.com";
    r.port = 443;
    r.allowed = false;
    r.reason = "not allowed";
    r.status = 403;
    auto v = boost::json::parse(format_access_record(r)).as_object();
    CHECK(v.size() == 11);
    for (auto key : {"time", "client", "method", "host", "port", "decision", "reason", "status",
                     "bytes_up", "bytes_down", "duration_ms"})
        CHECK(v.contains(key));
    CHECK(v["time"] == "2023-11-14T22:13:20.123Z");
    CHECK(v["decision"] == "deny");
    CHECK(v["port"] == 443);
}
