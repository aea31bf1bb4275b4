// cell-connect: ssh's ProxyCommand inside a cell. `cell-connect PROXY HOST
// PORT` asks the cell's SOCKS5 port (PROXY, 127.0.0.1:1080) for HOST:PORT,
// sending the name (socks5h), so the proxy's policy decides exactly as for
// CONNECT; then copies stdin to the tunnel and the tunnel to stdout until
// both directions end (half-close each way). A refusal is one line on
// stderr naming the host, the reason and, from the cell's refusal log, the
// rule that would allow it; exit 1. One connection, two fds: plain blocking
// I/O and poll(2), no event loop.
#include "proxy/socks5.hpp"

#include "common/syntax.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

namespace socks5 = proxy::socks5;

[[noreturn]] void die(const std::string& message, int code = 1) {
    fmt::print(stderr, "cell-connect: {}\n", message);
    std::exit(code);
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool read_exact(int fd, std::uint8_t* out, std::size_t size) {
    while (size > 0) {
        auto n = ::read(fd, out, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        out += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

std::string_view reply_text(std::uint8_t code) {
    switch (static_cast<socks5::Reply>(code)) {
    case socks5::Reply::not_allowed:
        return "refused by the cell's policy";
    case socks5::Reply::host_unreachable:
        return "the proxy cannot resolve it";
    case socks5::Reply::connection_refused:
        return "the connection was refused";
    case socks5::Reply::network_unreachable:
        return "the proxy cannot reach it";
    default:
        return "the proxy could not connect";
    }
}

// The `fix` of the newest refusal of HOST:PORT in $CELL_REFUSALS, if any.
std::optional<std::string> refusal_fix(std::string_view host, int port) {
    const char* path = std::getenv("CELL_REFUSALS"); // NOLINT(concurrency-mt-unsafe)
    if (path == nullptr)
        return std::nullopt;
    std::ifstream in(path);
    std::optional<std::string> fix;
    for (std::string line; std::getline(in, line);) {
        boost::system::error_code ec;
        auto v = boost::json::parse(line, ec);
        if (ec || !v.is_object())
            continue;
        const auto& o = v.get_object();
        const auto* h = o.if_contains("host");
        const auto* p = o.if_contains("port");
        const auto* f = o.if_contains("fix");
        if (h && h->is_string() && h->get_string() == host && p && p->is_int64() &&
            p->get_int64() == port && f && f->is_string() && !f->get_string().empty())
            fix = std::string(f->get_string());
    }
    return fix;
}

int connect_proxy(std::string_view text) {
    auto colon = text.rfind(':');
    auto port = colon == std::string_view::npos ? common::parse_port("")
                                                : common::parse_port(text.substr(colon + 1));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    std::string host(text.substr(0, colon == std::string_view::npos ? 0 : colon));
    if (!port || ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1)
        die(fmt::format("'{}' is not the SOCKS5 port as IPV4:PORT (e.g. 127.0.0.1:1080)", text), 2);
    sa.sin_port = htons(*port);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        die(fmt::format("cannot reach the cell's SOCKS5 port {}: {}", text, std::strerror(errno)));
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void handshake(int fd, const std::string& host, int port) {
    std::string hello{static_cast<char>(socks5::version), 1,
                      static_cast<char>(socks5::method_none)};
    std::array<std::uint8_t, 2> choice{};
    if (!write_all(fd, hello) || !read_exact(fd, choice.data(), 2) ||
        choice[0] != socks5::version || choice[1] != socks5::method_none)
        die("the cell's SOCKS5 port did not accept the greeting");
    std::string req{static_cast<char>(socks5::version), static_cast<char>(socks5::cmd_connect), 0,
                    static_cast<char>(socks5::atyp_domain), static_cast<char>(host.size())};
    req += host;
    req.push_back(static_cast<char>(port >> 8));
    req.push_back(static_cast<char>(port & 0xff));
    std::array<std::uint8_t, 4> head{};
    if (!write_all(fd, req) || !read_exact(fd, head.data(), 4))
        die(fmt::format("{}:{}: the proxy closed the connection", host, port));
    if (head[1] != 0) {
        std::string message = fmt::format("{}:{}: {}", host, port, reply_text(head[1]));
        if (head[1] == static_cast<std::uint8_t>(socks5::Reply::not_allowed)) {
            auto fix = refusal_fix(host, port);
            message +=
                fmt::format(" (fix: {})", fix ? *fix : fmt::format("--allow {}:{}", host, port));
        }
        die(message);
    }
    std::size_t rest = head[3] == socks5::atyp_ipv6 ? 18 : head[3] == socks5::atyp_ipv4 ? 6 : 0;
    std::array<std::uint8_t, 18> bound{};
    if (rest == 0 || !read_exact(fd, bound.data(), rest))
        die("the cell's SOCKS5 port sent a malformed reply");
}

// stdin -> sock and sock -> stdout until both have ended.
int splice(int sock) {
    bool up_open = true, down_open = true;
    std::array<char, 64 * 1024> buf{};
    while (up_open || down_open) {
        std::array<pollfd, 2> p{
            {{up_open ? 0 : -1, POLLIN, 0}, {down_open ? sock : -1, POLLIN, 0}}};
        if (::poll(p.data(), p.size(), -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (p[0].revents != 0) {
            auto n = ::read(0, buf.data(), buf.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || !write_all(sock, {buf.data(), static_cast<std::size_t>(n)})) {
                up_open = false;
                ::shutdown(sock, SHUT_WR);
            }
        }
        if (p[1].revents != 0) {
            auto n = ::read(sock, buf.data(), buf.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || !write_all(1, {buf.data(), static_cast<std::size_t>(n)})) {
                down_open = false;
                ::close(1);
                if (n < 0 || up_open)
                    return n < 0 ? 1 : 0; // the server is done: so is ssh's session
            }
        }
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
        fmt::print("usage: cell-connect PROXY HOST PORT\n\n"
                   "Connects stdin/stdout to HOST:PORT through the SOCKS5 proxy at PROXY\n"
                   "(IPV4:PORT, the cell's 127.0.0.1:1080), the name resolved by the proxy.\n"
                   "Inside a cell, ssh uses it as its ProxyCommand (/etc/ssh/ssh_config).\n"
                   "A refusal is one line naming the rule that would allow it; exit 1.\n");
        return 0;
    }
    if (argc != 4)
        die("usage: cell-connect PROXY HOST PORT (try --help)", 2);
    std::string host = argv[2];
    auto port = common::parse_port(argv[3]);
    if (!port)
        die(fmt::format("PORT: {}", port.error()), 2);
    if (host.empty() || host.size() > 255)
        die(fmt::format("HOST '{}': a name of 1 to 255 bytes", host), 2);
    int sock = connect_proxy(argv[1]);
    handshake(sock, host, *port);
    return splice(sock);
}
