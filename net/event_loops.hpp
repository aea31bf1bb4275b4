// Event loops: how many a daemon runs (`--threads N|auto`) and the copy of a
// listening socket each extra loop accepts from.
//
// relay and proxy can run several event loops, each a thread with its own
// io_context and its own copy (dup) of every listening socket: the kernel
// hands each new connection to one loop, and a connection never leaves it,
// so the pump and the sessions stay single-threaded. `auto` is what
// measured best on the 2-core machines the benchmarks run on (a loop per
// core; docs/benchmarks.md, forwarders), capped so that a large host does
// not get a thread per core for a forwarder that cannot use them.
#pragma once

#include "net/failure.hpp"
#include "net/listener.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/result.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace relay {

inline constexpr unsigned max_event_loops = 64;
inline constexpr unsigned max_auto_event_loops = 8;

// The CPUs this process may run on (its affinity mask), 1 to max_auto_event_loops.
unsigned auto_event_loops();

// "auto" or a count from 1 to max_event_loops; the failure names `flag`.
boost::system::result<unsigned, Failure> parse_event_loops(std::string_view text,
                                                           std::string_view flag);

// A second Listener on the same listening socket (a dup of its descriptor)
// for another loop's executor. It never removes the socket file: the
// original owns it.
boost::system::result<Listener, Failure> duplicate_listener(Listener& listener,
                                                            boost::asio::any_io_executor ex);

// The event loops besides the main one (the caller's thread): each its own
// io_context, a Server on it (relay's or proxy's: start() and
// stop(reason)) and, once started, a thread running it. The main loop keeps
// the lifetime (signals, lifeline) and stops these with stop(); the
// destructor stops and joins whatever still runs, before any loop's
// io_context and server are destroyed.
template <class Server>
class EventLoops {
public:
    EventLoops() = default;
    EventLoops(EventLoops const&) = delete;
    EventLoops& operator=(EventLoops const&) = delete;
    ~EventLoops() { join(); }

    // A new loop's io_context, to build its server on (emplace next).
    boost::asio::io_context& add() {
        loops_.push_back(std::make_unique<Loop>());
        return loops_.back()->ioc;
    }
    // The last added loop's server.
    template <class... Args>
    void emplace(Args&&... args) {
        loops_.back()->server.emplace(std::forward<Args>(args)...);
    }

    // Starts every server and the thread that runs its loop.
    void start() {
        for (auto& l : loops_) {
            Loop* loop = l.get();
            loop->server->start();
            loop->thread = std::thread([loop] { loop->ioc.run(); });
        }
    }

    // Asks every loop to stop (from any thread); join() waits for them.
    void stop(std::string const& reason) {
        for (auto& l : loops_) {
            Loop* loop = l.get();
            boost::asio::post(loop->ioc, [loop, reason] { loop->server->stop(reason); });
        }
    }

    void join() {
        for (auto& l : loops_) {
            Loop* loop = l.get();
            if (loop->thread.joinable()) {
                boost::asio::post(loop->ioc, [loop] { loop->server->stop("stopping"); });
                loop->thread.join();
            }
        }
    }

private:
    struct Loop {
        boost::asio::io_context ioc{1};
        std::optional<Server> server;
        std::thread thread;
    };
    std::vector<std::unique_ptr<Loop>> loops_;
};

} // namespace relay
