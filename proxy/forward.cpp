// Session: absolute-form forwarding. One request per call: target, Host
// check, framing, policy, upstream (reused when the same host:port kept it
// alive), then the request body upload and the response relay run together,
// so a server's `100 Continue` or early final answer reaches the client.
#include "proxy/session.hpp"

#include "proxy/http_rewrite.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>

namespace proxy {
namespace {

// Thrown by the response relay when the response ended before the request
// body: the upload is cancelled and the client connection closed.
struct EarlyResponse {};

// Host header present and naming another host (or port) than the URI: the
// request would mean different things to different servers, so refuse it.
std::optional<std::string> host_mismatch(const RequestHead& req, const Target& t) {
    auto hosts = field_values(req.fields, "Host");
    if (hosts.empty())
        return std::nullopt;
    if (hosts.size() > 1)
        return std::string("more than one Host header");
    auto h = std::string(hosts.front());
    auto parsed = parse_absolute_form((t.https ? "https://" : "http://") + h + "/", true);
    if (!parsed || parsed->host != t.host || parsed->port != t.port)
        return fmt::format("Host header '{}' differs from the request URI's host '{}'", h,
                           t.host_header());
    return std::nullopt;
}

// Inside an intercepted connection: the registry the client connected to,
// over TLS, and the request's origin-form path.
Parsed<Target> intercepted_target(const Target& registry, const std::string& origin) {
    Target t = registry;
    t.origin_form = origin;
    t.https = true;
    return t;
}

} // namespace

boost::asio::awaitable<bool> Session::forward(const RequestHead& req) {
    bool intercepted = service_.kind == Service::Kind::intercepted;
    auto target = intercepted ? intercepted_target(*service_.to, req.target)
                              : parse_absolute_form(req.target);
    begin_record(req.method, target ? target->host.name : "", target ? target->port : 0);
    Refusal bad{{400, "http_request_error", {}, {}}, "bad_request"};
    if (!target) {
        bad.error.details = target.error();
        bad.reason = "bad_target";
        co_await refuse(bad);
        co_return false;
    }
    if (auto why = host_mismatch(req, *target)) {
        bad.error.details = *why;
        bad.reason = "host_mismatch";
        co_await refuse(bad);
        co_return false;
    }
    auto framing = request_framing(req);
    if (!framing) {
        bad.error.details = framing.error();
        co_await refuse(bad);
        co_return false;
    }
    // An intercepted request is a CONNECT's payload: the CONNECT rules
    // (ports) apply, as they did to the tunnel it replaces.
    if (auto no = check_policy(*target, intercepted)) {
        co_await refuse(*no);
        co_return false;
    }
    if (std::string digest; is_cached_blob(req, *target, *framing, digest))
        co_return co_await cached_blob(req, *target, digest);
    if (!co_await send_request_head(req, *target))
        co_return false;
    exchanging_ = true;
    bool keep = co_await exchange(req, *framing);
    exchanging_ = false;
    finish_record();
    co_return keep;
}

boost::asio::awaitable<bool> Session::send_request_head(const RequestHead& req, const Target& t) {
    if (auto no = co_await open_upstream(t)) {
        co_await refuse(*no);
        co_return false;
    }
    auto head = upstream_request_head(req, t);
    set_phase(Phase::awaiting_response, idle_);
    if (co_await write_all(upstream_, head)) {
        const Refusal named = {
            {502, "connection_terminated", "the destination closed the connection", {}},
            "upstream_closed",
            false};
        co_await refuse(named);
        co_return false;
    }
    record_->bytes_up += head.size();
    co_return true;
}

boost::asio::awaitable<bool> Session::exchange(const RequestHead& req, Framing body) {
    using namespace boost::asio::experimental::awaitable_operators;
    bool upload_done = body.kind == BodyKind::none;
    bool response_started = false;
    std::string upload_problem;
    auto upload = [&]() -> boost::asio::awaitable<void> {
        auto r = co_await copy_body(client_, cbuf_, upstream_, body, {}, progress_);
        if (record_) // gone when the response side already answered and logged
            record_->bytes_up += r.bytes;
        if (!r.complete) {
            upload_problem = r.framing_error.empty() ? "request body incomplete" : r.framing_error;
            throw boost::system::system_error(boost::asio::error::eof);
        }
        upload_done = true;
    };
    auto download = [&]() -> boost::asio::awaitable<bool> {
        bool keep = co_await relay_response(req, response_started);
        if (!upload_done)
            throw EarlyResponse{};
        co_return keep;
    };
    bool keep = false;
    bool answer_bad_body = false;
    try {
        if (upload_done)
            keep = co_await download();
        else
            keep = co_await (upload() && download());
    } catch (const EarlyResponse&) {
        keep = false;
    } catch (const Answered&) {
        keep = false;
    } catch (const std::exception& e) {
        answer_bad_body = !response_started && !upload_problem.empty();
        if (record_ && !answer_bad_body)
            record_->reason += fmt::format("; error: {}", e.what());
        keep = false;
    }
    // co_await is not allowed inside a catch block, hence the flag.
    if (answer_bad_body) {
        const Refusal named = {{400, "http_request_error", upload_problem, {}}, "bad_body"};
        co_await refuse(named);
    }
    if (!keep)
        co_return false;
    co_return keeps_alive(req.minor_version, req.fields);
}

} // namespace proxy
