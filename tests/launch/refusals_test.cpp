// The exit summary of what the proxy refused: one line per kind, each with
// the flag that would allow it (issue 23: malformed requests and 503s used
// to read as ":0 (N)" with the --allow hint).
#include "launch/refusals.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

std::string line(const char* host, int port, const char* reason, int status,
                 const char* decision = "deny") {
    return std::string(R"({"time":"t","client":"c","method":"GET","host":")") + host +
           R"(","port":)" + std::to_string(port) + R"(,"decision":")" + decision +
           R"(","reason":")" + reason + R"(","status":)" + std::to_string(status) + "}\n";
}

} // namespace

TEST_CASE("refusal summary: one line per kind, each with its own fix") {
    std::string log =
        line("a.example", 443, "not allowed", 403) + line("a.example", 443, "not allowed", 403) +
        line("b.example", 80, "not allowed", 403) +
        line("localhost", 8080, "address: loopback", 403) + line("c.example", 22, "port 22", 403) +
        line("d.example", 443, "deny **.d.example", 403) +
        line("e.example", 443, "sni_mismatch: f.example", 403) + line("", 0, "bad_request", 400) +
        line("", 0, "bad_request", 400) + line("", 0, "max_connections", 503, "allow") +
        line("ok.example", 443, "allow ok.example", 200, "allow");
    auto lines = launch::summarize_refusals(log);
    REQUIRE(lines.size() == 7);
    CHECK(lines[0] ==
          "the proxy refused: a.example:443 (2), b.example:80 (1) \u2014 allow a host "
          "with --allow HOST (HOST:PORT for a port other than 80 and 443) or a filter line");
    CHECK(lines[1].find("localhost:8080 (1) \u2014 allow a range with --allow-cidr CIDR") !=
          std::string::npos);
    CHECK(lines[2].find(
              "c.example:22 (1) \u2014 open one for one host with --allow HOST:PORT, or for "
              "every allowed host with --connect-port PORT") != std::string::npos);
    CHECK(lines[3].find("d.example:443 (1)") != std::string::npos);
    CHECK(lines[4].find("e.example:443 (1)") != std::string::npos);
    CHECK(lines[5] == "the proxy refused 2 malformed requests (400/408/431: see proxy-access.log); "
                      "no flag allows these");
    CHECK(lines[6] == "the proxy turned away 1 connection with 503: more clients at once than its "
                      "connection limit");
    for (const auto& l : lines) {
        CHECK(l.find(":0 (") == std::string::npos);
    }
}

TEST_CASE("refusal summary: nothing refused, nothing said") {
    CHECK(launch::summarize_refusals(line("ok.example", 443, "allow ok.example", 200, "allow"))
              .empty());
    CHECK(launch::summarize_refusals("not json\n").empty());
}
