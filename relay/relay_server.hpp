// Server: relay's accept loop and sessions on one io_context. Each accepted
// client gets a session coroutine that owns both sockets: it connects to the
// target (a failure closes the client at once and is logged), then runs the
// pump. No fork and no thread per connection.
#pragma once

#include "net/accept_failures.hpp"
#include "net/endpoint.hpp"
#include "net/listener.hpp"
#include "net/pump.hpp"
#include "relay/conn_log.hpp"
#include "relay/connection_cap.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace relay {

struct ServerOptions {
    Endpoint target;
    PumpOptions pump;
    // Connection ids are first_id, first_id + id_step, ...: servers on other
    // event loops (--threads) take the other residues, so ids stay unique.
    std::uint64_t first_id = 1;
    std::uint64_t id_step = 1;
};

class Server {
public:
    // `cap` (--max-connections) and `failures` (of the one listening
    // socket) are shared by the servers of every event loop.
    Server(boost::asio::io_context& ioc, Listener listener, ServerOptions options, ConnLog& log,
           std::shared_ptr<ConnectionCap> cap, std::shared_ptr<AcceptFailures> failures);

    // Spawns the accept loop; the listener is already listening.
    void start();

    // Stops accepting, closes the listener (removing its socket file) and
    // stops the io_context. Safe to call twice.
    void stop(std::string const& reason);

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<bool> take_slot();
    boost::asio::awaitable<void> session(Listener::socket_type client, std::uint64_t id);

    boost::asio::io_context& ioc_;
    Listener listener_;
    ServerOptions options_;
    ConnLog& log_;
    std::shared_ptr<ConnectionCap> cap_;
    std::shared_ptr<AcceptFailures> failures_;
    std::shared_ptr<ConnectionCap::Waiter> waiter_; // this loop's wait for a slot
    std::uint64_t next_id_;
    bool stopping_ = false;
};

} // namespace relay
