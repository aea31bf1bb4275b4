// Fuzz target: the HTTP/1 head parsers and what the proxy does with a head it
// accepted. Beyond "no crash", for every input:
//  - an accepted head, written out again canonically, parses to the same head;
//  - the request head the proxy sends upstream (http_rewrite) parses, has the
//    same body framing as the client's and no hop-by-hop field, so proxy and
//    server cannot disagree on where a message ends (request smuggling);
//  - the same for the response head the proxy sends back to the client.
#include "tests/fuzz/check.hpp"

#include "proxy/http_framing.hpp"
#include "proxy/http_head.hpp"
#include "proxy/http_rewrite.hpp"
#include "proxy/request_target.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace proxy;

// A head the proxy writes may hold every field it accepted plus its own.
constexpr HeadLimits written_limits{max_head_bytes, max_header_fields + fields_added_by_proxy};

void append_fields(std::string& out, const HeaderFields& fields) {
    for (const auto& f : fields)
        out += f.name + ": " + f.value + "\r\n";
    out += "\r\n";
}

std::string request_text(const RequestHead& r) {
    auto out = r.method + ' ' + r.target + " HTTP/1." + std::to_string(r.minor_version) + "\r\n";
    append_fields(out, r.fields);
    return out;
}

std::string response_text(const ResponseHead& r) {
    auto out = "HTTP/1." + std::to_string(r.minor_version) + ' ' + std::to_string(r.status) + ' ' +
               r.reason + "\r\n";
    append_fields(out, r.fields);
    return out;
}

bool same_fields(const HeaderFields& a, const HeaderFields& b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].name != b[i].name || a[i].value != b[i].value)
            return false;
    return true;
}

// The proxy writes Connection, Via and Host itself; no other field that the
// original head marks hop-by-hop may be passed on.
bool no_hop_by_hop(const HeaderFields& original, const HeaderFields& sent) {
    for (const auto& f : sent) {
        if (iequals(f.name, "Connection") || iequals(f.name, "Via") || iequals(f.name, "Host"))
            continue;
        if (is_hop_by_hop(f.name, original))
            return false;
    }
    return true;
}

void check_upstream(const RequestHead& req) {
    if (iequals(req.method, "CONNECT")) {
        (void)parse_authority_form(req.target);
        return;
    }
    auto target = parse_absolute_form(req.target);
    auto framing = request_framing(req);
    if (!target || !framing)
        return; // the proxy answers 400 and forwards nothing
    auto sent = upstream_request_head(req, *target);
    if (sent.size() > max_head_bytes)
        return;
    auto again = parse_request_head(sent, written_limits);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->method == req.method);
    auto host = field_values(again->fields, "Host");
    FUZZ_CHECK(host.size() == 1 && host[0] == target->host_header());
    FUZZ_CHECK(no_hop_by_hop(req.fields, again->fields));
    auto framing_sent = request_framing(*again);
    FUZZ_CHECK(framing_sent.has_value() && *framing_sent == *framing);
}

void check_request(std::string_view text) {
    auto req = parse_request_head(text);
    if (!req)
        return;
    auto canonical = request_text(*req);
    if (canonical.size() <= max_head_bytes) {
        auto again = parse_request_head(canonical);
        FUZZ_CHECK(again.has_value());
        FUZZ_CHECK(again->method == req->method && again->target == req->target);
        FUZZ_CHECK(again->minor_version == req->minor_version);
        FUZZ_CHECK(same_fields(again->fields, req->fields));
    }
    (void)keeps_alive(req->minor_version, req->fields);
    check_upstream(*req);
}

void check_response(std::string_view text) {
    auto res = parse_response_head(text);
    if (!res)
        return;
    FUZZ_CHECK(res->status >= 100 && res->status <= 999);
    auto canonical = response_text(*res);
    if (canonical.size() <= max_head_bytes) {
        auto again = parse_response_head(canonical);
        FUZZ_CHECK(again.has_value());
        FUZZ_CHECK(again->status == res->status && again->reason == res->reason);
        FUZZ_CHECK(same_fields(again->fields, res->fields));
    }
    auto framing = response_framing(*res, "GET");
    if (!framing)
        return; // the proxy answers 502
    auto sent = client_response_head(*res, true);
    if (sent.size() > max_head_bytes)
        return;
    auto again = parse_response_head(sent, written_limits);
    FUZZ_CHECK(again.has_value() && again->status == res->status);
    FUZZ_CHECK(no_hop_by_hop(res->fields, again->fields));
    auto framing_sent = response_framing(*again, "GET");
    FUZZ_CHECK(framing_sent.has_value() && *framing_sent == *framing);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    check_request(text);
    check_response(text);
    return 0;
}
