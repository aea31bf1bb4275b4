// Listener: bind/listen for Unix and TCP endpoints; see listener.hpp for why
// the Unix path handling looks the way it does.
#include "net/listener.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace relay {
namespace {

using generic = boost::asio::generic::stream_protocol;

Failure fail(Endpoint const& e, std::string_view step, std::string_view why) {
    return Failure{fmt::format("listen '{}': {}: {}", e.text, step, why)};
}

// Is someone accepting on this socket path? A refused connect means the file
// is a leftover of a process that died without removing it.
bool socket_is_live(std::string const& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return true; // cannot tell; refuse to delete
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int err = errno;
    ::close(fd);
    return rc == 0 || (err != ECONNREFUSED && err != ENOENT);
}

// Makes the path free for bind(2), or says why it must not be touched.
boost::system::result<void, Failure> clear_stale_path(Endpoint const& e) {
    struct stat st {};
    if (::lstat(e.path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return {};
        }
        return fail(e, "stat", std::strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode)) {
        return fail(e, "path exists", "it is not a socket; refusing to replace it");
    }
    if (socket_is_live(e.path)) {
        return fail(e, "path exists", "another process is listening on it");
    }
    if (::unlink(e.path.c_str()) != 0 && errno != ENOENT) {
        return fail(e, "remove stale socket", std::strerror(errno));
    }
    return {};
}

// umask is process-wide, so this must run before any other thread exists;
// relay and proxy open their listeners first thing, single-threaded.
class ScopedUmask {
public:
    explicit ScopedUmask(std::optional<mode_t> mode)
        : active_(mode.has_value()), old_(active_ ? ::umask(~*mode & 0777) : 0) {}
    ~ScopedUmask() {
        if (active_) {
            ::umask(old_);
        }
    }
    ScopedUmask(ScopedUmask const&) = delete;
    ScopedUmask& operator=(ScopedUmask const&) = delete;

private:
    bool active_;
    mode_t old_;
};

boost::system::result<generic::endpoint, Failure> bind_address(Endpoint const& e) {
    if (e.is_unix()) {
        return generic::endpoint(boost::asio::local::stream_protocol::endpoint(e.path));
    }
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(e.host, ec);
    if (ec) {
        // in_place_error: generic::endpoint converts from anything, Failure included.
        auto why =
            fmt::format("'{}' is not an IP address (listeners take addresses, not names)", e.host);
        return {boost::system::in_place_error, fail(e, "address", why)};
    }
    return generic::endpoint(boost::asio::ip::tcp::endpoint(address, e.port));
}

int socket_option(int fd, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    return ::getsockopt(fd, SOL_SOCKET, name, &value, &len) == 0 ? value : -1;
}

// TCP_NODELAY on a listening socket: Linux copies it to every connection
// accepted from it, so sessions need no setsockopt(2) of their own (the pump
// forwards what it read at once; Nagle would delay every small reply).
void set_no_delay(int fd) {
    int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Takes over a listening socket made by whoever started us. It must already
// listen: we never bind or listen for it, so what it is bound to stays the
// caller's decision (the cell launcher's is in the jail's network namespace).
boost::system::result<Listener::acceptor_type, Failure> adopt(boost::asio::any_io_executor ex,
                                                              Endpoint const& e) {
    if (::fcntl(e.fd, F_GETFD) < 0) {
        return fail(e, "fd", "not open");
    }
    if (socket_option(e.fd, SO_TYPE) != SOCK_STREAM) {
        return fail(e, "fd", "not a stream socket");
    }
    if (socket_option(e.fd, SO_ACCEPTCONN) != 1) {
        return fail(e, "fd", "the socket is not listening");
    }
    int family = socket_option(e.fd, SO_DOMAIN);
    int protocol = socket_option(e.fd, SO_PROTOCOL);
    ::fcntl(e.fd, F_SETFD, FD_CLOEXEC); // ours alone, as any socket we open
    if (family == AF_INET || family == AF_INET6) {
        set_no_delay(e.fd);
    }
    Listener::acceptor_type acceptor(ex);
    boost::system::error_code ec;
    if (acceptor.assign(generic(family, protocol), e.fd, ec); ec) {
        return fail(e, "fd", ec.message());
    }
    return acceptor;
}

} // namespace

boost::system::result<Listener, Failure> Listener::open(boost::asio::any_io_executor ex,
                                                        Endpoint const& endpoint,
                                                        ListenOptions const& options) {
    if (endpoint.is_inherited()) {
        auto acceptor = adopt(ex, endpoint);
        if (!acceptor) {
            return acceptor.error();
        }
        return Listener(std::move(*acceptor), endpoint);
    }
    auto address = bind_address(endpoint);
    if (!address) {
        return address.error();
    }
    if (endpoint.is_unix()) {
        if (auto cleared = clear_stale_path(endpoint); !cleared) {
            return cleared.error();
        }
    }
    acceptor_type acceptor(ex);
    boost::system::error_code ec;
    if (acceptor.open(address->protocol(), ec); ec) {
        return fail(endpoint, "socket", ec.message());
    }
    if (!endpoint.is_unix()) {
        acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec);
        set_no_delay(acceptor.native_handle());
    }
    {
        ScopedUmask umask(endpoint.is_unix() ? options.mode : std::nullopt);
        if (acceptor.bind(*address, ec); ec) {
            return fail(endpoint, "bind", ec.message());
        }
    }
    Listener listener(std::move(acceptor), endpoint);
    if (endpoint.is_unix()) {
        struct stat st {};
        if (::lstat(endpoint.path.c_str(), &st) == 0) {
            listener.owned_ = true;
            listener.dev_ = st.st_dev;
            listener.ino_ = st.st_ino;
        }
    }
    if (listener.acceptor_.listen(options.backlog, ec); ec) {
        return fail(endpoint, "listen", ec.message());
    }
    return listener;
}

Listener::Listener(acceptor_type acceptor, Endpoint endpoint)
    : acceptor_(std::move(acceptor)), endpoint_(std::move(endpoint)) {}

Listener::Listener(Listener&& other) noexcept
    : acceptor_(std::move(other.acceptor_)), endpoint_(std::move(other.endpoint_)),
      owned_(std::exchange(other.owned_, false)), dev_(other.dev_), ino_(other.ino_) {}

Listener::~Listener() {
    close();
}

void Listener::close() noexcept {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    if (!owned_) {
        return;
    }
    owned_ = false;
    struct stat st {};
    if (::lstat(endpoint_.path.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
        ::unlink(endpoint_.path.c_str());
    }
}

} // namespace relay
