// cell-engine: the container engine's start inside a cell (--containers).
// The plan runs `cell-engine --socket PATH --store DIR --storage-conf FILE
// --private-storage-conf FILE -- COMMAND...` as the jail's command. It
//
//  1. takes the image store's lock (STORE/.cell-lock, flock): the store is
//     the user's, shared by their cells, but podman's container database in
//     it assumes one runtime dir, and a second cell's fresh one would reset
//     the first cell's containers. A cell that finds the lock taken uses a
//     private store in its own /tmp instead (said on stderr);
//  2. starts `podman system service --time=0 unix://PATH` in a session of
//     its own, detached (its parent is the jail's init, so COMMAND never
//     sees it as a child), output to the engine log;
//  3. waits until the Docker API answers `GET /_ping` with 200;
//  4. execs COMMAND, which inherits the lock.
// Nothing is left to stop: everything in the cell dies with its pid
// namespace. A failure exits 70 with the log's last lines, so a cell never
// starts its command without the engine it asked for.
#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

constexpr int kExitSetup = 70;
constexpr auto kReadyTimeout = std::chrono::seconds(30);
constexpr const char* kEngine = "podman";

[[noreturn]] void die(const std::string& message, int code = kExitSetup) {
    fmt::print(stderr, "cell-engine: {}\n", message);
    std::exit(code);
}

struct Args {
    std::string socket;
    std::string store;
    std::string storage_conf;
    std::string private_storage_conf;
    std::string log;
    std::vector<char*> command;
};

Args parse(int argc, char** argv) {
    Args a;
    int i = 1;
    for (; i < argc; ++i) {
        std::string_view flag = argv[i];
        if (flag == "--") {
            ++i;
            break;
        }
        if (i + 1 >= argc) {
            die(fmt::format("{}: a value is missing (usage: cell-engine --socket PATH --store DIR "
                            "--storage-conf FILE --private-storage-conf FILE --log FILE -- "
                            "COMMAND...)",
                            flag),
                2);
        }
        std::string value = argv[++i];
        if (flag == "--socket") {
            a.socket = value;
        } else if (flag == "--store") {
            a.store = value;
        } else if (flag == "--storage-conf") {
            a.storage_conf = value;
        } else if (flag == "--private-storage-conf") {
            a.private_storage_conf = value;
        } else if (flag == "--log") {
            a.log = value;
        } else {
            die(fmt::format("{}: unknown option", flag), 2);
        }
    }
    for (const auto* v : {&a.socket, &a.store, &a.storage_conf, &a.log}) {
        if (v->empty() || v->front() != '/') {
            die("--socket, --store, --storage-conf and --log take absolute paths", 2);
        }
    }
    for (; i < argc; ++i) {
        a.command.push_back(argv[i]);
    }
    if (a.command.empty()) {
        die("no command after --", 2);
    }
    a.command.push_back(nullptr);
    return a;
}

// mkdir -p with mode 0700 for what it makes.
void make_dirs(const std::string& path) {
    for (std::size_t at = 1; at != std::string::npos;) {
        at = path.find('/', at + 1);
        auto part = path.substr(0, at);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
            die(fmt::format("cannot make {}: {}", part, std::strerror(errno)));
        }
    }
}

std::string parent_dir(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

// The store's lock, held (and inherited by COMMAND) for the cell's life;
// false when another cell holds it.
bool lock_store(const std::string& store) {
    auto path = store + "/.cell-lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600); // kept open on purpose: no CLOEXEC
    if (fd < 0) {
        die(fmt::format("cannot open the image store's lock {}: {}", path, std::strerror(errno)));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        return true;
    }
    if (errno != EWOULDBLOCK) {
        die(fmt::format("cannot lock {}: {}", path, std::strerror(errno)));
    }
    ::close(fd);
    return false;
}

// Starts the service in its own session, its parent the jail's init (a
// double fork), and returns its pid.
pid_t start_service(const Args& a) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) {
        die(fmt::format("pipe: {}", std::strerror(errno)));
    }
    pid_t middle = ::fork();
    if (middle < 0) {
        die(fmt::format("fork: {}", std::strerror(errno)));
    }
    if (middle == 0) {
        ::setsid();
        pid_t service = ::fork();
        if (service == 0) {
            int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            int out = ::open(a.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
                ::dup2(out, 2) < 0) {
                _exit(126);
            }
            auto url = "unix://" + a.socket;
            const char* argv[] = {kEngine, "system", "service", "--time=0", url.c_str(), nullptr};
            ::execvp(kEngine, const_cast<char* const*>(argv));
            fmt::print(stderr, "cell-engine: cannot run {}: {}\n", kEngine, std::strerror(errno));
            _exit(127);
        }
        (void)!::write(pipefd[1], &service, sizeof service);
        _exit(service < 0 ? 1 : 0);
    }
    ::close(pipefd[1]);
    pid_t service = -1;
    auto n = ::read(pipefd[0], &service, sizeof service);
    ::close(pipefd[0]);
    ::waitpid(middle, nullptr, 0);
    if (n != sizeof service || service <= 0) {
        die("cannot start the engine's service (fork failed)");
    }
    return service;
}

// Alive and not a zombie (the jail's init reaps it, but not at once).
bool running(pid_t pid) {
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!std::getline(stat, line)) {
        return false;
    }
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// One `GET /_ping` on the API socket: true on a 200.
bool api_answers(const std::string& socket) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket.size() >= sizeof addr.sun_path) {
        ::close(fd);
        die(fmt::format("{}: too long for a unix socket path", socket));
    }
    std::memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        constexpr std::string_view req =
            "GET /_ping HTTP/1.1\r\nHost: engine\r\nConnection: close\r\n\r\n";
        if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
            pollfd p{fd, POLLIN, 0};
            std::array<char, 64> buf{};
            if (::poll(&p, 1, 2000) == 1) {
                auto n = ::read(fd, buf.data(), buf.size() - 1);
                std::string_view head(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
                ok = head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200");
            }
        }
    }
    ::close(fd);
    return ok;
}

std::string log_tail(const std::string& log) {
    std::ifstream in(log);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    std::string out;
    auto from = lines.size() > 8 ? lines.size() - 8 : 0;
    for (auto i = from; i < lines.size(); ++i) {
        out += "\n  " + lines[i];
    }
    return out.empty() ? " (it wrote nothing)" : ":" + out;
}

} // namespace

int main(int argc, char** argv) {
    auto a = parse(argc, argv);
    make_dirs(parent_dir(a.socket));
    make_dirs(parent_dir(a.log));
    std::string storage = a.storage_conf;
    if (!lock_store(a.store)) {
        if (a.private_storage_conf.empty()) {
            die(fmt::format("the image store {} is in use by another cell", a.store));
        }
        storage = a.private_storage_conf;
        fmt::print(stderr,
                   "cell-engine: the image store is in use by another of your cells; this cell "
                   "keeps its images in its own /var/tmp (gone when it ends)\n");
    }
    if (::setenv("CONTAINERS_STORAGE_CONF", storage.c_str(), 1) != 0) {
        die("cannot set CONTAINERS_STORAGE_CONF");
    }
    const auto started = std::chrono::steady_clock::now();
    pid_t service = start_service(a);
    const auto deadline = started + kReadyTimeout;
    while (!api_answers(a.socket)) {
        if (!running(service)) {
            die(fmt::format("the container engine ({} system service) ended before it was ready; "
                            "its log {}{}",
                            kEngine, a.log, log_tail(a.log)));
        }
        if (std::chrono::steady_clock::now() > deadline) {
            die(fmt::format("the container engine ({} system service) did not answer on {} "
                            "within {} s; its log {}{}",
                            kEngine, a.socket, kReadyTimeout.count(), a.log, log_tail(a.log)));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::execvp(a.command[0], a.command.data());
    die(fmt::format("{}: {}", a.command[0], std::strerror(errno)), errno == ENOENT ? 127 : 126);
}
