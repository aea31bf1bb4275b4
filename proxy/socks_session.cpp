// Session: SOCKS5 (socks5.hpp). The greeting, optional username/password,
// one CONNECT request; then exactly the HTTP CONNECT path's decisions: the
// target as CONNECT would parse "HOST:PORT" (so an IP literal in any
// spelling is normalized and meets the address policy), the domain policy,
// the address policy after resolution, a connection to the checked
// address, the SNI check, and the byte pump. A refusal is answered with
// the RFC's reply code and logged like a CONNECT refusal, method "SOCKS5".
#include "proxy/session.hpp"

#include "proxy/socks5.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

#include <cstring>

namespace proxy {
namespace {

constexpr std::size_t max_message = 600; // a request is at most 262 bytes

std::span<const std::uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

socks5::Reply reply_for(const Refusal& r) {
    // A refused destination, and a host spelling CONNECT would refuse too
    // (2130706433, 0x7f.1: IP literals in disguise), are the ruleset's no.
    if (r.denied)
        return socks5::Reply::not_allowed;
    if (r.reason == "dns_error")
        return socks5::Reply::host_unreachable;
    if (r.reason == "connection_refused")
        return socks5::Reply::connection_refused;
    return socks5::Reply::network_unreachable;
}

} // namespace

// Reads until `parse` says ok or bad; false on EOF, error or oversize.
template <typename Parse>
static boost::asio::awaitable<bool> read_message(Socket& s, std::string& buf, Parse& parse) {
    for (;;) {
        auto st = parse(as_bytes(buf));
        if (st != socks5::Status::need_more)
            co_return true;
        if (buf.size() >= max_message)
            co_return false;
        boost::system::error_code ec;
        if (co_await read_more(s, buf, max_message - buf.size(), ec) == 0)
            co_return false;
    }
}

boost::asio::awaitable<void> Session::socks() {
    policy_ = ctx_->policy.load(); // one snapshot per connection; SIGHUP swaps the pointer
    socks5::Greeting greeting;
    // Named, not temporaries in the co_await (see refuse() in session.hpp).
    auto parse_greeting = [&](std::span<const std::uint8_t> b) {
        greeting = socks5::parse_greeting(b);
        return greeting.status;
    };
    if (!co_await read_message(client_, cbuf_, parse_greeting) ||
        greeting.status == socks5::Status::bad)
        co_return; // not SOCKS5: nothing to answer in its language
    cbuf_.erase(0, greeting.used);
    char choice[2] = {static_cast<char>(socks5::version), static_cast<char>(greeting.method)};
    if (co_await write_all(client_, std::string_view(choice, 2)) ||
        greeting.method == socks5::method_unacceptable)
        co_return;
    if (greeting.method == socks5::method_password) {
        socks5::Auth auth;
        auto parse_auth = [&](std::span<const std::uint8_t> b) {
            auth = socks5::parse_auth(b);
            return auth.status;
        };
        if (!co_await read_message(client_, cbuf_, parse_auth) ||
            auth.status == socks5::Status::bad)
            co_return;
        cbuf_.erase(0, auth.used);
        if (co_await write_all(client_, socks5::auth_ok))
            co_return;
    }
    socks5::Request req;
    auto parse_request = [&](std::span<const std::uint8_t> b) {
        req = socks5::parse_request(b);
        return req.status;
    };
    if (!co_await read_message(client_, cbuf_, parse_request))
        co_return;
    begin_record("SOCKS5", req.host, req.port);
    if (req.status == socks5::Status::bad || req.reply != socks5::Reply::succeeded) {
        record_->allowed = false;
        record_->reason = fmt::format("socks_error: {}", req.problem);
        record_->status = 400;
        co_await write_all(client_, socks5::reply(req.reply));
        co_return;
    }
    cbuf_.erase(0, req.used);
    auto authority = req.address_type == socks5::atyp_ipv6
                         ? fmt::format("[{}]:{}", req.host, req.port)
                         : fmt::format("{}:{}", req.host, req.port);
    auto target = parse_authority_form(authority);
    std::optional<Refusal> no;
    if (!target) {
        const Refusal named = {{400, "http_request_error", target.error(), {}}, "bad_target"};
        no = named;
    } else if (auto policy = check_policy(*target, true)) {
        no = std::move(policy);
    } else if (auto up = co_await open_upstream(*target)) {
        no = std::move(up);
    }
    if (no) {
        record_->allowed = !no->denied;
        record_->reason = no->reason;
        record_->status = no->error.status;
        if (no->denied)
            ctx_->refusals.write(*record_); // before the client hears of it
        co_await write_all(client_, socks5::reply(reply_for(*no)));
        co_return;
    }
    set_phase(Phase::streaming, idle_);
    boost::system::error_code ec;
    auto local = upstream_.local_endpoint(ec);
    boost::asio::ip::tcp::endpoint bound;
    if (!ec)
        std::memcpy(bound.data(), local.data(),
                    std::min<std::size_t>(local.size(), sizeof(sockaddr_in6)));
    auto addr = bound.address();
    std::string reply_bytes;
    if (addr.is_v6()) {
        auto b = addr.to_v6().to_bytes();
        reply_bytes = socks5::reply(socks5::Reply::succeeded, b, bound.port());
    } else {
        auto b = addr.to_v4().to_bytes();
        reply_bytes = socks5::reply(socks5::Reply::succeeded, b, bound.port());
    }
    if (co_await write_all(client_, reply_bytes))
        co_return;
    record_->status = 200;
    trim_buffers();
    if (!co_await sni_allows(*target))
        co_return;
    co_await pump_tunnel();
}

} // namespace proxy
