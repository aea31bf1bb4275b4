// Session: the policy check and the upstream connection. The name is
// resolved once, every address is checked against the destination policy,
// and the socket connects to a checked address, so a DNS answer that changes
// between check and connect (rebinding) cannot redirect it.
#include "proxy/session.hpp"

#include "proxy/image_cache.hpp"
#include "proxy/tls_bridge.hpp"

#include "net/connector.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <poll.h>

namespace proxy {
namespace {

using boost::asio::as_tuple;
using boost::asio::use_awaitable;
using tcp = boost::asio::ip::tcp;

// A kept-alive upstream connection the server closed (or that has stray
// bytes) must not carry the next request.
bool stale(Socket& s) {
    pollfd p{s.native_handle(), POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, 0) != 0;
}

Refusal denied_address(const Target& t, const std::string& why) {
    auto body = forbidden_body(t.host.authority(), t.port, why,
                               "add --allow-cidr with a range that holds this address");
    return {{403, "destination_ip_prohibited", fmt::format("{}: {}", t.host.name, why), body},
            fmt::format("address: {}", why)};
}

} // namespace

std::optional<Refusal> Session::check_policy(const Target& t, bool is_connect) {
    auto d = policy_->domains.decide(t.host, t.port, is_connect);
    record_->allowed = d.allowed;
    record_->reason = d.reason;
    if (d.allowed)
        return std::nullopt;
    // "add --allow X or ..." -> "--allow X or ...", as the refusal log words it.
    std::string_view how = d.how_to_allow;
    record_->fix = how.starts_with("add ") ? std::string(how.substr(4)) : std::string(how);
    auto body = forbidden_body(t.host.authority(), t.port, d.why, d.how_to_allow);
    return Refusal{{403, "http_request_denied",
                    fmt::format("{}:{} refused by the cell's policy", t.host.name, t.port), body},
                   d.reason};
}

// Only the image cache reaches a registry over TLS (an intercepted one, or
// a registry's redirect to https storage): the certificate must be valid for
// the name under the system's CAs and --upstream-ca.
boost::asio::awaitable<std::optional<Refusal>> Session::start_tls(const Target& t) {
    std::string problem;
    std::optional<Socket> plain;
    const BridgeLimits limits{idle_, nullptr};
    if (ctx_->cache)
        plain = co_await connect_tls(upstream_, ctx_->cache->upstream_tls(), t.host.name, limits,
                                     problem);
    else
        problem = "https is only reached by the image cache";
    if (!plain) {
        boost::system::error_code ec;
        upstream_.close(ec);
        co_return Refusal{{502,
                           "tls_protocol_error",
                           fmt::format("TLS to {}:{}: {}", t.host.name, t.port, problem),
                           {}},
                          "tls_error",
                          false};
    }
    upstream_ = std::move(*plain);
    co_return std::nullopt;
}

boost::asio::awaitable<std::optional<Refusal>> Session::open_upstream(const Target& t) {
    auto key = fmt::format("{}{}:{}", t.https ? "https://" : "", t.host.authority(), t.port);
    // The staleness probe is a syscall; a connection used within the last
    // second cannot have hit any server's keep-alive timeout yet.
    bool recent = Clock::now() - upstream_used_ < std::chrono::seconds(1);
    if (upstream_.is_open() && upstream_reusable_ && upstream_key_ == key && ubuf_.empty() &&
        (recent || !stale(upstream_)))
        co_return std::nullopt;
    boost::system::error_code ec;
    upstream_.close(ec);
    ubuf_.clear();
    upstream_reusable_ = false;
    set_phase(Phase::connect, ctx_->options.timeouts.connect);

    std::vector<tcp::endpoint> candidates;
    auto literal = boost::asio::ip::make_address(t.host.name, ec);
    if (!ec) {
        candidates.emplace_back(literal, t.port);
    } else {
        tcp::resolver resolver(client_.get_executor());
        auto [rec, results] = co_await resolver.async_resolve(t.host.name, std::to_string(t.port),
                                                              as_tuple(use_awaitable));
        if (rec)
            co_return Refusal{{502,
                               "dns_error",
                               fmt::format("cannot resolve {}: {}", t.host.name, rec.message()),
                               {}},
                              "dns_error",
                              false};
        for (const auto& r : results)
            candidates.push_back(r.endpoint());
    }
    std::string refused;
    std::erase_if(candidates, [&](const tcp::endpoint& e) {
        auto why = policy_->addresses.refusal(e.address());
        if (why && refused.empty())
            refused = *why;
        return why.has_value();
    });
    if (candidates.empty())
        co_return denied_address(t, refused);

    boost::system::error_code last;
    for (const auto& e : candidates) {
        auto cec = co_await relay::connect_socket(
            upstream_, boost::asio::generic::stream_protocol::endpoint(e));
        if (!cec) {
            upstream_.set_option(tcp::no_delay(true), ec);
            if (t.https) {
                if (auto no = co_await start_tls(t))
                    co_return no;
            }
            upstream_key_ = key;
            co_return std::nullopt;
        }
        last = cec;
    }
    upstream_.close(ec);
    bool refused_conn = last == boost::asio::error::connection_refused;
    co_return Refusal{
        {502,
         refused_conn ? "connection_refused" : "destination_unavailable",
         fmt::format("cannot connect to {}:{}: {}", t.host.name, t.port, last.message()),
         {}},
        refused_conn ? "connection_refused" : "connect_error",
        false};
}

} // namespace proxy
