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
#include <boost/system/result.hpp>

#include <string_view>

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

} // namespace relay
