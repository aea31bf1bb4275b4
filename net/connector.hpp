// Connector: opens an outgoing stream connection to an Endpoint as a generic
// socket, so relay's session code is the same for Unix and TCP targets.
// TCP targets get TCP_NODELAY: the pump forwards whatever it read at once, and
// Nagle would add latency to every small request/reply (the nix protocol).
#pragma once

#include "net/endpoint.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/system/error_code.hpp>

namespace relay {

// Connects `socket` (closed or open; reopened as needed) to `target`. Host
// names are resolved; address literals are used as they are. Returns the
// error of the last attempt, empty on success.
boost::asio::awaitable<boost::system::error_code>
connect_endpoint(boost::asio::generic::stream_protocol::socket& socket, Endpoint const& target);

// Connects `socket` (closed or open; reopened for `to`'s protocol) to one
// address: a non-blocking connect, then, unless the peer is already there
// (loopback), a wait for writability and SO_ERROR. Asio's async_connect
// without the poll(2) it adds and without a wait where none is needed. The
// wait can be cancelled like any operation on the socket.
boost::asio::awaitable<boost::system::error_code>
connect_socket(boost::asio::generic::stream_protocol::socket& socket,
               boost::asio::generic::stream_protocol::endpoint const& to);

// Sets TCP_NODELAY when `socket` is a TCP socket; harmless for Unix ones.
void set_no_delay_if_tcp(boost::asio::generic::stream_protocol::socket& socket);

} // namespace relay
