// Listener: a listening socket for an Endpoint, Unix, TCP or inherited
// (`fd:N`), behind one acceptor type (generic::stream_protocol) so the
// accept loop is the same.
//
// Unix paths are handled the way a daemon that may be restarted needs: a
// stale socket file (bound, nobody listening) is replaced; a live socket or any
// other kind of file is an error; the permissions are set by a umask around
// bind(2) (no window in which the socket is connectable with looser modes, as
// with a chmod after bind); and close() removes the file if it is still the
// one we bound. TCP listeners set SO_REUSEADDR so a restart does not wait for
// TIME_WAIT, and TCP_NODELAY, which every accepted connection inherits.
#pragma once

#include "net/endpoint.hpp"
#include "net/failure.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <sys/types.h>

namespace relay {

struct ListenOptions {
    // Permission bits for a Unix socket file, e.g. 0660; none = leave to the umask.
    std::optional<mode_t> mode;
    int backlog = 4096;
};

class Listener {
public:
    using acceptor_type = boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol>;
    using socket_type = boost::asio::generic::stream_protocol::socket;

    // Binds and listens; the failure names the endpoint and the step that failed.
    static boost::system::result<Listener, Failure> open(boost::asio::any_io_executor ex,
                                                         Endpoint const& endpoint,
                                                         ListenOptions const& options = {});

    Listener(Listener&& other) noexcept;
    Listener& operator=(Listener&&) = delete;
    Listener(Listener const&) = delete;
    ~Listener();

    acceptor_type& acceptor() { return acceptor_; }
    Endpoint const& endpoint() const { return endpoint_; }

    // Stops listening and removes the socket file if it is still ours.
    // Idempotent and non-throwing, so signal handling and destructors may both call it.
    void close() noexcept;

    // Forgets the socket file without removing it: for the copy of a listener
    // left in the parent after fork(2), whose child now owns the file.
    void release_path() noexcept { owned_ = false; }

private:
    Listener(acceptor_type acceptor, Endpoint endpoint);

    acceptor_type acceptor_;
    Endpoint endpoint_;
    bool owned_ = false; // we created the socket file
    dev_t dev_{};        // identity of the file we bound, so close() never
    ino_t ino_{};        // removes a socket another process put there since
};

} // namespace relay
