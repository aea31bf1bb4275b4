// TLS for the image cache, without teaching the session a second stream
// type. The session speaks HTTP on a plain Socket; when a registry must be
// reached over TLS (or a client's CONNECT to one is intercepted), the TLS
// stream is bridged to one end of a socketpair and the session gets the
// other end. A detached shuttle moves bytes both ways until either side
// ends: plain EOF sends close_notify, TLS EOF half-closes the plain end.
// Only registry traffic takes this path, so its extra copy costs nothing
// where the data path is measured (tunnels and plain forwarding).
#pragma once

#include "proxy/stream_io.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace proxy {

// How long either handshake may take before the connection is dropped.
constexpr std::chrono::seconds tls_handshake_timeout{10};

struct BridgeLimits {
    // Both directions silent this long: the bridge closes both sides (the
    // proxy's --idle-timeout).
    std::chrono::steady_clock::duration idle;
    // Held until the bridge ends: whatever it owns (a connection slot) is
    // released with it.
    std::shared_ptr<void> slot;
};

// Server side: `raw` is the client's connection (after `200 Connection
// established`, its ClientHello unread). On success `raw` is consumed and the
// returned socket carries the decrypted stream; otherwise `problem` says why.
boost::asio::awaitable<std::optional<Socket>> accept_tls(Socket& raw,
                                                         boost::asio::ssl::context& ctx,
                                                         const BridgeLimits& limits,
                                                         std::string& problem);

// Client side: `raw` is connected to the registry. The certificate must be
// valid for `host` (sent as SNI too) under ctx's trust store.
boost::asio::awaitable<std::optional<Socket>>
connect_tls(Socket& raw, boost::asio::ssl::context& ctx, const std::string& host,
            const BridgeLimits& limits, std::string& problem);

// The trust store for registries: the system's (OpenSSL's default paths,
// SSL_CERT_FILE honoured) plus `extra_ca` (a PEM file) when not empty.
// Throws std::runtime_error naming the file.
std::unique_ptr<boost::asio::ssl::context> make_client_context(const std::string& extra_ca);

} // namespace proxy
