// relay: forwards every connection accepted on LISTEN to CONNECT, a socat
// replacement for the two places a cell needs one (the nix daemon socket and
// the proxy port). The order here is the whole program: parse, bind (so bind
// errors reach the caller even in --background), detach if asked, then serve
// until a signal, the lifeline or an error stops us.
#include "net/event_loops.hpp"
#include "net/lifetime.hpp"
#include "net/listener.hpp"
#include "relay/background.hpp"
#include "relay/conn_log.hpp"
#include "relay/privileges.hpp"
#include "relay/relay_cli.hpp"
#include "relay/relay_server.hpp"

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace {

// Reports a startup failure (to the waiting caller too, in --background) and
// gives the exit status; returning rather than exiting lets destructors remove
// a socket file that was already bound.
int failed(std::optional<relay::DaemonLink>& link, std::string const& message) {
    if (link) {
        link->failed(message);
    }
    std::fprintf(stderr, "relay: %s\n", message.c_str());
    return 1;
}

// --threads N: N - 1 event loops besides the main one, each with a copy of
// the listening socket (the kernel gives each connection to one of them)
// and a Server; sessions never cross loops.
boost::system::result<void, relay::Failure>
add_loops(relay::EventLoops<relay::Server>& loops, unsigned threads, relay::Listener& listener,
          relay::ServerOptions const& options, relay::ConnLog& log,
          std::shared_ptr<relay::ConnectionCap> const& cap,
          std::shared_ptr<relay::AcceptFailures> const& failures) {
    for (unsigned i = 1; i < threads; ++i) {
        auto& ioc = loops.add();
        auto l = relay::duplicate_listener(listener, ioc.get_executor());
        if (!l) {
            return l.error();
        }
        auto o = options;
        o.first_id = 1 + i;
        loops.emplace(ioc, std::move(*l), std::move(o), log, cap, failures);
    }
    return {};
}

int run(relay::Options const& options) {
    boost::asio::io_context ioc(1);
    std::optional<relay::DaemonLink> link;
    if (options.gate_fd) {
        relay::check_gate_fd(*options.gate_fd);
    }

    auto listener = relay::Listener::open(ioc.get_executor(), options.listen, {options.mode});
    if (!listener) {
        return failed(link, listener.error().message);
    }
    auto log = relay::ConnLog::open(options.log_file, options.quiet);
    if (!log) {
        return failed(link, log.error().message);
    }
    if (options.background) {
        link.emplace(relay::daemonize(ioc, *listener, options.command, options.gate_fd));
    }
    // After bind and log: both may need the caller's rights, and the socket
    // then belongs to the caller (a root-run cell can connect to it).
    relay::Endpoint connect = options.connect;
    if (options.drop_root) {
        auto dropped = relay::drop_root(connect);
        if (!dropped) {
            return failed(link, dropped.error().message);
        }
        connect = std::move(*dropped);
    }

    relay::ServerOptions server_options{std::move(connect),
                                        relay::PumpOptions{options.idle_timeout}};
    auto cap = std::make_shared<relay::ConnectionCap>(options.max_connections);
    auto failures = std::make_shared<relay::AcceptFailures>();
    server_options.id_step = options.threads;
    relay::EventLoops<relay::Server> loops;
    if (auto added =
            add_loops(loops, options.threads, *listener, server_options, *log, cap, failures);
        !added) {
        return failed(link, added.error().message);
    }
    relay::Server server(ioc, std::move(*listener), server_options, *log, cap, failures);
    std::string stop_reason;
    relay::Lifetime lifetime(ioc, options.lifetime, [&](std::string const& reason) {
        stop_reason = reason;
        server.stop(reason);
        loops.stop(reason);
    });
    if (auto started = lifetime.start(); !started) {
        return failed(link, started.error().message);
    }
    server.start();
    loops.start();
    lifetime.ready();
    if (link) {
        link->ready();
    }
    ioc.run();
    loops.join();
    // Only now: a session on another loop may log its close until that loop
    // has stopped, and the stop line is the log's last.
    log->stopped(stop_reason);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    return run(relay::parse_cli(argc, argv));
}
