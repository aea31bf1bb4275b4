// Load generator for bench/proxy.sh (compiled by the script): plain POSIX
// sockets on 127.0.0.1 so the client and the sink are never the bottleneck
// when measuring a proxy's CONNECT throughput (Python tops out near it).
//   proxy_blast sink PORTFILE            accept, discard, close on EOF
//   proxy_blast push PROXYPORT PORT N    CONNECT, send N bytes, print seconds
//   proxy_blast socks PROXYPORT PORT N   the same through SOCKS5 (no auth,
//                                        IPv4 127.0.0.1:PORT)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
    std::perror(what);
    std::exit(1);
}

sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

void sink(const char* portfile) {
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    auto a = loopback(0);
    if (bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof a) || listen(srv, 1024))
        die("sink");
    socklen_t len = sizeof a;
    getsockname(srv, reinterpret_cast<sockaddr*>(&a), &len);
    std::string tmp = std::string(portfile) + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    std::fprintf(f, "%d", ntohs(a.sin_port));
    std::fclose(f);
    std::rename(tmp.c_str(), portfile);
    for (;;) {
        int c = accept(srv, nullptr, nullptr);
        if (c < 0)
            continue;
        std::thread([c] {
            std::vector<char> buf(1 << 20);
            while (read(c, buf.data(), buf.size()) > 0) {
            }
            close(c);
        }).detach();
    }
}

void read_exact(int s, unsigned char* out, size_t n) {
    while (n > 0) {
        auto k = read(s, out, n);
        if (k <= 0)
            die("read");
        out += k;
        n -= static_cast<size_t>(k);
    }
}

void open_connect(int s, int port) {
    auto req = "CONNECT 127.0.0.1:" + std::to_string(port) + " HTTP/1.1\r\n\r\n";
    if (write(s, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
        die("write");
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos && read(s, &c, 1) == 1)
        head += c;
    if (head.compare(0, 7, "HTTP/1.") != 0 || head.compare(8, 5, " 200 ") != 0) {
        std::fprintf(stderr, "CONNECT refused: %s\n", head.c_str());
        std::exit(1);
    }
}

void open_socks(int s, int port) {
    const unsigned char hello[] = {5, 1, 0};
    unsigned char choice[2];
    if (write(s, hello, 3) != 3)
        die("write");
    read_exact(s, choice, 2);
    const unsigned char req[] = {5,
                                 1,
                                 0,
                                 1,
                                 127,
                                 0,
                                 0,
                                 1,
                                 static_cast<unsigned char>(port >> 8),
                                 static_cast<unsigned char>(port & 0xff)};
    if (choice[1] != 0 || write(s, req, sizeof req) != sizeof req)
        die("socks greeting");
    unsigned char reply[10];
    read_exact(s, reply, 10);
    if (reply[1] != 0) {
        std::fprintf(stderr, "SOCKS5 refused: reply %d\n", reply[1]);
        std::exit(1);
    }
}

void push(int proxy_port, int port, long long n, bool socks) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    auto a = loopback(proxy_port);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a))
        die("connect");
    if (socks)
        open_socks(s, port);
    else
        open_connect(s, port);
    char c;
    std::vector<char> buf(1 << 20, 'x');
    auto t0 = std::chrono::steady_clock::now();
    while (n > 0) {
        auto k = write(s, buf.data(), static_cast<size_t>(std::min<long long>(n, buf.size())));
        if (k <= 0)
            die("push");
        n -= k;
    }
    shutdown(s, SHUT_WR);
    while (read(s, &c, 1) > 0) { // EOF: the sink drained everything and closed
    }
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    std::printf("%.3f\n", dt.count());
}

} // namespace

int main(int argc, char** argv) {
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "sink" && argc == 3) {
        sink(argv[2]);
    } else if ((cmd == "push" || cmd == "socks") && argc == 5) {
        push(std::atoi(argv[2]), std::atoi(argv[3]), std::atoll(argv[4]), cmd == "socks");
        return 0;
    }
    std::fprintf(stderr, "usage: proxy_blast sink PORTFILE | push|socks PROXYPORT PORT BYTES\n");
    return 2;
}
