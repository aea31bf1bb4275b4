// One client connection, owned by one coroutine: it reads request heads,
// answers CONNECT with a tunnel (tunnel.cpp) and absolute-form requests by
// forwarding (forward.cpp) with client keep-alive, and owns the upstream
// socket too. A single watchdog timer per session enforces the head, connect
// and idle deadlines: it answers 408 or 504 itself and closes both sockets,
// which ends the coroutine.
#pragma once

#include "proxy/access_log.hpp"
#include "proxy/blob_store.hpp"
#include "proxy/http_framing.hpp"
#include "proxy/http_head.hpp"
#include "proxy/proxy_context.hpp"
#include "proxy/request_target.hpp"
#include "proxy/service.hpp"
#include "proxy/status_page.hpp"
#include "proxy/stream_io.hpp"
#include "proxy/tls_sni.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace proxy {

// A refusal the session answers itself: the response, the log reason, and
// whether it is a denial (policy or bad request) rather than an upstream fault.
struct Refusal {
    ProxyError error;
    std::string reason;
    bool denied = true;
};

// Thrown inside a session once the client has been answered with an error,
// to unwind (and cancel a concurrent upload) without answering twice.
struct Answered {};

class Session : public std::enable_shared_from_this<Session> {
public:
    // What the client expects: HTTP, SOCKS5 (socks_session.cpp) or one
    // forwarded destination (port_forward.cpp).
    Session(std::shared_ptr<ProxyContext> ctx, Socket client, Service service = {});
    boost::asio::awaitable<void> run();

private:
    using Clock = std::chrono::steady_clock;
    // What the watchdog does when the deadline passes depends on the phase.
    enum class Phase { head, connect, awaiting_response, streaming, tunnel };

    boost::asio::awaitable<void> serve();
    boost::asio::awaitable<bool> one_request();
    void arm_watchdog();
    void on_timeout();
    void set_phase(Phase p, Clock::duration budget);
    void touch(); // progress: push the idle deadline out
    void trim_buffers();

    // socks_session.cpp
    boost::asio::awaitable<void> socks();
    // port_forward.cpp
    boost::asio::awaitable<void> port_forward();
    // tunnel.cpp
    boost::asio::awaitable<void> tunnel(const RequestHead& req);
    boost::asio::awaitable<bool> sni_allows(const Target& target);
    // A CONNECT to a registry the image cache keeps: TLS is terminated here
    // and the decrypted requests served by a session of their own.
    boost::asio::awaitable<void> intercept(const Target& target);
    boost::asio::awaitable<bool> peek_sni_allows(const Target& target);
    std::optional<bool> judge_hello(const SniResult& hello, const Target& target,
                                    bool intercepting);
    // The established tunnel (CONNECT, SOCKS5, --forward): cbuf_ first, then
    // the pump until both directions end; bytes and the ending in the record.
    boost::asio::awaitable<void> pump_tunnel();
    // forward.cpp
    boost::asio::awaitable<bool> forward(const RequestHead& req);
    // Opens (or reuses) the upstream for t and sends req's head there;
    // false once the client has been answered with why not.
    boost::asio::awaitable<bool> send_request_head(const RequestHead& req, const Target& t);
    boost::asio::awaitable<bool> exchange(const RequestHead& req, Framing body);
    boost::asio::awaitable<bool> relay_response(const RequestHead& req, bool& response_started);
    // cached_blob.cpp: registry blobs by digest, with the image cache on.
    bool is_cached_blob(const RequestHead& req, const Target& t, Framing body,
                        std::string& digest) const;
    boost::asio::awaitable<bool> cached_blob(const RequestHead& req, const Target& t,
                                             const std::string& digest);
    boost::asio::awaitable<bool> serve_cached(const RequestHead& req, const std::string& digest,
                                              const Blob& blob);
    boost::asio::awaitable<void> send_blob(const Blob& blob, const std::string& digest);
    boost::asio::awaitable<bool> fetch_blob(const RequestHead& req, const Target& t,
                                            const std::string& digest);
    boost::asio::awaitable<bool> store_blob(const RequestHead& req, const ResponseHead& res,
                                            Framing framing, const std::string& digest);
    // upstream.cpp
    boost::asio::awaitable<std::optional<Refusal>> open_upstream(const Target& t);
    boost::asio::awaitable<std::optional<Refusal>> start_tls(const Target& t);
    std::optional<Refusal> check_policy(const Target& t, bool is_connect);

    // Not a coroutine: stores the refusal and returns send_refusal(). GCC 12
    // destroys some temporaries twice when an exception or cancellation
    // unwinds a co_await expression holding them, so refusals are always
    // named locals and no coroutine here takes a class by value.
    boost::asio::awaitable<void> refuse(const Refusal& r);
    boost::asio::awaitable<void> send_refusal();
    boost::asio::awaitable<void> linger();
    void begin_record(std::string_view method, std::string_view host, std::uint16_t port);
    void finish_record();

    std::shared_ptr<ProxyContext> ctx_;
    Service service_;
    bool answers_http_ = true; // false: no HTTP answers on timeouts (SOCKS5, forwards)
    std::shared_ptr<const CompiledPolicy> policy_;
    Socket client_;
    std::string client_name_;
    std::string cbuf_;              // bytes read from the client, not yet used
    std::size_t head_have_ = 0;     // bytes of a request head received so far
    std::size_t upstream_have_ = 0; // same for a response head
    Socket upstream_;
    std::string ubuf_; // bytes read from upstream, not yet used
    std::string upstream_key_;
    bool upstream_reusable_ = false;
    Clock::time_point upstream_used_; // end of the last response read from it
    bool exchanging_ = false;         // an upload may be reading the client: no lingering
    boost::asio::steady_timer watchdog_;
    bool watchdog_armed_ = false;
    bool timed_out_ = false;
    Phase phase_ = Phase::head;
    Clock::time_point deadline_;
    Clock::duration idle_;
    Refusal refusal_;
    const std::function<void()> progress_ = [this] { touch(); };
    std::optional<AccessRecord> record_;
    Clock::time_point record_start_;
};

// The session coroutine spawned per accepted client.
boost::asio::awaitable<void> run_session(std::shared_ptr<ProxyContext> ctx, Socket client,
                                         Service service = {});

// Name of a peer for the log: "127.0.0.1:5555", "[::1]:5555" or "unix".
std::string peer_name(const Socket& s);
// The same for an address already known (from accept): "HOST:PORT" or "unix".
std::string endpoint_name(const Socket::endpoint_type& ep);

} // namespace proxy
