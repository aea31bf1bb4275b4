// Command line of `relay`. Boost.Program_options does the option syntax; this
// file adds what it cannot know: endpoint parsing, the `-- COMMAND` tail, and
// cross-option checks. Every error names the flag or argument at fault.
#include "relay/relay_cli.hpp"

#include "net/event_loops.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace relay {
namespace {

namespace po = boost::program_options;

constexpr std::string_view usage_line =
    "usage: relay [OPTIONS] LISTEN CONNECT [-- COMMAND [ARGS...]]";

constexpr std::string_view endpoints_help = R"(
Endpoints:
  unix:PATH           Unix stream socket (UNIX-LISTEN:PATH, UNIX-CONNECT:PATH)
  tcp:HOST:PORT       TCP; listen HOST must be an address (TCP:HOST:PORT)
  tcp:[V6]:PORT       TCP over IPv6
  TCP-LISTEN:PORT     TCP on 127.0.0.1:PORT (socat binds all addresses; relay does not)
  fd:N                listen only: a listening socket inherited on fd N

With --background, relay binds LISTEN, detaches a daemon and, once it
accepts, runs COMMAND in its own place (exec) or exits 0 if there is none.
See docs/relay.md.
)";

[[noreturn]] void usage_error(std::string const& message) {
    std::fprintf(stderr, "relay: %s\n", message.c_str());
    std::exit(2);
}

po::options_description describe_options() {
    po::options_description o("Options");
    o.add_options()("help,h", "print this help and exit")(
        "ready-fd", po::value<int>()->value_name("N"),
        "write \"ready\\n\" to fd N once listening, then close it")(
        "lifeline-fd", po::value<int>()->value_name("N"), "exit as soon as fd N reads EOF")(
        "max-connections", po::value<std::size_t>()->value_name("N"),
        "serve at most N connections at once; more wait in the backlog")(
        "threads", po::value<std::string>()->value_name("N|auto"),
        "run N event loops (1 to 64), each a thread accepting from the one listening "
        "socket; auto (the default): one per CPU this process may use, at most 8")(
        "idle-timeout", po::value<double>()->value_name("SECONDS"),
        "close a connection after SECONDS with no bytes either way")(
        "mode", po::value<std::string>()->value_name("OCTAL"),
        "permissions of a Unix listening socket (octal, e.g. 660)")(
        "log", po::value<std::string>()->value_name("FILE"),
        "append one JSON line per connection event to FILE (a regular file, never reached "
        "through a symlink), or to fd:N")("quiet,q", "do not report connection errors on stderr")(
        "drop-root", "when run as root, switch to uid/gid 65534 once listening, so "
                     "connections carry nobody's credentials, not root's")(
        "background", "detach a daemon once listening; then exec COMMAND or exit")(
        "gate-fd", po::value<int>()->value_name("N"),
        "with --background: before COMMAND, wait for the line \"go\" on fd N (the "
        "launcher's word that the cell's host daemons are ready); exit 1 if N closes first");
    return o;
}

Endpoint endpoint_arg(std::string const& text, Endpoint::Role side) {
    auto parsed = parse_endpoint(text);
    if (!parsed) {
        usage_error(parsed.error().message);
    }
    if (auto why = role_mismatch(*parsed, side); !why.empty()) {
        usage_error(why);
    }
    return *parsed;
}

mode_t mode_arg(std::string const& text) {
    char* end = nullptr;
    unsigned long value = std::strtoul(text.c_str(), &end, 8);
    if (text.empty() || *end != '\0' || value > 07777) {
        usage_error(fmt::format("--mode '{}': expected octal permission bits such as 660", text));
    }
    return static_cast<mode_t>(value);
}

int fd_arg(po::variables_map const& vm, char const* name) {
    int fd = vm[name].as<int>();
    if (fd < 0) {
        usage_error(fmt::format("--{} {}: not a file descriptor", name, fd));
    }
    return fd;
}

void fill_options(po::variables_map const& vm, Options& o) {
    if (vm.count("ready-fd")) {
        o.lifetime.ready_fd = fd_arg(vm, "ready-fd");
    }
    if (vm.count("lifeline-fd")) {
        o.lifetime.lifeline_fd = fd_arg(vm, "lifeline-fd");
    }
    if (vm.count("max-connections")) {
        o.max_connections = vm["max-connections"].as<std::size_t>();
    }
    auto threads = parse_event_loops(
        vm.count("threads") ? vm["threads"].as<std::string>() : std::string("auto"), "--threads");
    if (!threads) {
        usage_error(threads.error().message);
    }
    o.threads = *threads;
    if (vm.count("idle-timeout")) {
        double seconds = vm["idle-timeout"].as<double>();
        if (!(seconds > 0)) {
            usage_error(fmt::format("--idle-timeout {}: must be more than 0 seconds", seconds));
        }
        o.idle_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(seconds));
    }
    if (vm.count("mode")) {
        o.mode = mode_arg(vm["mode"].as<std::string>());
    }
    if (vm.count("log")) {
        o.log_file = vm["log"].as<std::string>();
    }
    o.quiet = vm.count("quiet") > 0;
    o.background = vm.count("background") > 0;
    o.drop_root = vm.count("drop-root") > 0;
    if (vm.count("gate-fd")) {
        o.gate_fd = fd_arg(vm, "gate-fd");
    }
}

} // namespace

Options parse_cli(int argc, char** argv) {
    std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
    Options options;
    auto dashdash = std::find(args.begin(), args.end(), "--");
    bool has_command_tail = dashdash != args.end();
    if (has_command_tail) {
        options.command.assign(dashdash + 1, args.end());
        args.erase(dashdash, args.end());
    }
    auto visible = describe_options();
    po::options_description all;
    all.add(visible).add_options()("endpoint", po::value<std::vector<std::string>>());
    po::positional_options_description positional;
    positional.add("endpoint", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (po::error const& e) {
        usage_error(e.what());
    }
    if (vm.count("help")) {
        std::cout << usage_line << "\n\n" << visible << endpoints_help;
        std::exit(0);
    }
    auto endpoints = vm.count("endpoint") ? vm["endpoint"].as<std::vector<std::string>>()
                                          : std::vector<std::string>{};
    if (endpoints.size() != 2) {
        usage_error(fmt::format("expected LISTEN and CONNECT endpoints, got {} (try --help)",
                                endpoints.size()));
    }
    options.listen = endpoint_arg(endpoints[0], Endpoint::Role::listen);
    options.connect = endpoint_arg(endpoints[1], Endpoint::Role::connect);
    fill_options(vm, options);
    if (!options.command.empty() && !options.background) {
        usage_error("a COMMAND after '--' needs --background");
    }
    if (options.gate_fd && !options.background) {
        usage_error("--gate-fd needs --background");
    }
    if (has_command_tail && options.command.empty()) {
        usage_error("'--' must be followed by a COMMAND");
    }
    return options;
}

} // namespace relay
