// Server: the listeners (relay's Listener, so unix: and tcp: behave exactly
// as in relay), one accept loop per listener, the connection cap answered
// with 503 instead of a stall, and SIGHUP policy reloads that keep the old
// rules when the new ones do not compile.
#pragma once

#include "proxy/proxy_context.hpp"
#include "proxy/service.hpp"

#include "net/accept_failures.hpp"
#include "net/listener.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <memory>
#include <string>
#include <vector>

namespace proxy {

class Server {
public:
    // The main loop's server reloads the policy on SIGHUP and says when it
    // stops; the servers of the other event loops (--threads) only serve.
    enum class Role { main, extra };

    // listeners[i] serves services[i].
    Server(boost::asio::io_context& ioc, std::vector<relay::Listener> listeners,
           std::vector<Service> services, std::shared_ptr<ProxyContext> ctx,
           Role role = Role::main);

    void start();
    // Stops accepting, removes socket files, stops the io_context. Idempotent.
    void stop(const std::string& reason);

private:
    boost::asio::awaitable<void> accept_loop(relay::Listener& listener, const Service& service,
                                             relay::AcceptFailures& failures);
    void watch_reload();
    void reload();

    boost::asio::io_context& ioc_;
    std::vector<relay::Listener> listeners_;
    std::vector<Service> services_;
    std::shared_ptr<ProxyContext> ctx_;
    Role role_;
    boost::asio::signal_set hangup_; // SIGHUP, on the main loop only
    bool stopping_ = false;
};

} // namespace proxy
