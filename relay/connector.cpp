// Connector: see connector.hpp.
#include "connector.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

namespace relay {
namespace {

using generic = boost::asio::generic::stream_protocol;
using boost::asio::as_tuple;
using boost::asio::use_awaitable;

boost::asio::awaitable<boost::system::error_code> connect_one(generic::socket& socket,
                                                              generic::endpoint const& to) {
    boost::system::error_code ec;
    socket.close(ec);
    if (socket.open(to.protocol(), ec); ec) {
        co_return ec;
    }
    auto [connect_ec] = co_await socket.async_connect(to, as_tuple(use_awaitable));
    co_return connect_ec;
}

boost::asio::awaitable<boost::system::error_code> connect_tcp(generic::socket& socket,
                                                              Endpoint const& target) {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(target.host, ec);
    if (!ec) {
        co_return co_await connect_one(socket,
                                       boost::asio::ip::tcp::endpoint(address, target.port));
    }
    boost::asio::ip::tcp::resolver resolver(socket.get_executor());
    auto [resolve_ec, results] = co_await resolver.async_resolve(
        target.host, std::to_string(target.port), as_tuple(use_awaitable));
    if (resolve_ec) {
        co_return resolve_ec;
    }
    ec = boost::asio::error::host_not_found;
    for (auto const& entry : results) {
        ec = co_await connect_one(socket, entry.endpoint());
        if (!ec) {
            break;
        }
    }
    co_return ec;
}

} // namespace

boost::asio::awaitable<boost::system::error_code> connect_endpoint(generic::socket& socket,
                                                                   Endpoint const& target) {
    boost::system::error_code ec;
    if (target.is_unix()) {
        ec = co_await connect_one(socket,
                                  boost::asio::local::stream_protocol::endpoint(target.path));
    } else {
        ec = co_await connect_tcp(socket, target);
    }
    if (!ec) {
        set_no_delay_if_tcp(socket);
    }
    co_return ec;
}

void set_no_delay_if_tcp(generic::socket& socket) {
    boost::system::error_code ec;
    auto family = socket.local_endpoint(ec).protocol().family();
    if (!ec && (family == AF_INET || family == AF_INET6)) {
        socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    }
}

} // namespace relay
