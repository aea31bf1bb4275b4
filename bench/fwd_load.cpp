// Load generator for bench/forwarders.sh (compiled by the script): HTTP/1.1
// GETs to a loopback nginx, either straight to PORT (a TCP forwarder, or
// nginx itself) or through an HTTP proxy's CONNECT tunnel to 127.0.0.1:TARGET.
// Plain blocking sockets, one thread per connection, like wrk -t1 -cN on the
// figures that matter here.
//   fwd_load bulk  PORT TARGET CONNS SECONDS PATH   MB/s of bodies read
//   fwd_load close PORT TARGET CONNS SECONDS PATH   new connections/s
//   fwd_load keep  PORT TARGET CONNS SECONDS PATH   keep-alive requests/s
//   fwd_load idle  PORT TARGET CONNS                opens CONNS, prints
//                                                   "ready", holds them
//                                                   until stdin closes
// TARGET 0: connect to PORT directly; otherwise CONNECT 127.0.0.1:TARGET
// through the proxy at PORT first.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char* what) {
    std::perror(what);
    std::exit(1);
}

bool send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

// Reads one HTTP response head into `head`, leaving body bytes already read
// in `rest`. False on EOF or error.
bool read_head(int fd, std::string& head, std::string& rest) {
    char buf[4096];
    std::string acc = std::move(rest);
    for (;;) {
        auto end = acc.find("\r\n\r\n");
        if (end != std::string::npos) {
            head = acc.substr(0, end + 4);
            rest = acc.substr(end + 4);
            return true;
        }
        auto n = ::read(fd, buf, sizeof buf);
        if (n <= 0)
            return false;
        acc.append(buf, static_cast<std::size_t>(n));
    }
}

long long content_length(const std::string& head) {
    auto at = head.find("Content-Length:");
    if (at == std::string::npos)
        at = head.find("content-length:");
    return at == std::string::npos ? -1 : std::atoll(head.c_str() + at + 15);
}

// Reads `n` body bytes (some already in `rest`); returns bytes read.
long long read_body(int fd, long long n, std::string& rest, std::vector<char>& buf) {
    long long got = static_cast<long long>(rest.size());
    if (got > n) {
        rest.erase(0, static_cast<std::size_t>(n));
        return n;
    }
    rest.clear();
    while (got < n) {
        auto want = std::min<long long>(static_cast<long long>(buf.size()), n - got);
        auto r = ::read(fd, buf.data(), static_cast<std::size_t>(want));
        if (r <= 0)
            return got;
        got += r;
    }
    return got;
}

int open_conn(int port, int target) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    if (target != 0) {
        auto req = "CONNECT 127.0.0.1:" + std::to_string(target) +
                   " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(target) + "\r\n\r\n";
        std::string head, rest;
        if (!send_all(fd, req) || !read_head(fd, head, rest) ||
            head.find(" 200") == std::string::npos || !rest.empty()) {
            ::close(fd);
            return -1;
        }
    }
    return fd;
}

std::string get(const std::string& path, bool close) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
           (close ? "Connection: close\r\n" : "") + "\r\n";
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr,
                     "usage: fwd_load bulk|close|keep|idle PORT TARGET CONNS [SECONDS PATH]\n");
        return 2;
    }
    std::string mode = argv[1];
    int port = std::atoi(argv[2]);
    int target = std::atoi(argv[3]);
    int conns = std::atoi(argv[4]);
    if (mode == "idle") {
        std::vector<int> fds;
        for (int i = 0; i < conns; ++i) {
            int fd = open_conn(port, target);
            if (fd < 0)
                die("idle connection");
            fds.push_back(fd);
        }
        std::printf("ready %zu\n", fds.size());
        std::fflush(stdout);
        char c;
        while (::read(0, &c, 1) > 0) {
        }
        return 0;
    }
    if (argc < 7) {
        return 2;
    }
    double seconds = std::atof(argv[5]);
    std::string path = argv[6];
    std::atomic<long long> total{0};
    std::atomic<long long> errors{0};
    const auto stop = Clock::now() + std::chrono::duration<double>(seconds);
    auto worker = [&] {
        std::vector<char> buf(1 << 20);
        long long mine = 0;
        int fd = -1;
        std::string rest;
        while (Clock::now() < stop) {
            if (fd < 0) {
                fd = open_conn(port, target);
                rest.clear();
                if (fd < 0) {
                    ++errors;
                    continue;
                }
            }
            const bool close_each = mode == "close";
            std::string head;
            if (!send_all(fd, get(path, close_each)) || !read_head(fd, head, rest)) {
                ::close(fd);
                fd = -1;
                ++errors;
                continue;
            }
            auto len = content_length(head);
            auto got = read_body(fd, len, rest, buf);
            if (got != len) {
                ::close(fd);
                fd = -1;
                ++errors;
                continue;
            }
            mine += mode == "bulk" ? got : 1;
            if (close_each) {
                ::close(fd);
                fd = -1;
            }
        }
        if (fd >= 0)
            ::close(fd);
        total += mine;
    };
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < conns; ++i)
        threads.emplace_back(worker);
    for (auto& t : threads)
        t.join();
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    double rate = static_cast<double>(total.load()) / elapsed;
    if (mode == "bulk")
        rate /= 1e6;
    std::printf("%.0f %lld\n", rate, errors.load());
    return 0;
}
