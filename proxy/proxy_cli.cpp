// See cli.hpp. The option table is data; checks that need more than a type
// conversion follow it, each naming its flag.
#include "proxy/proxy_cli.hpp"

#include "proxy/policy_names.hpp"
#include "proxy/registry_path.hpp"
#include "proxy/request_target.hpp"

#include "common/syntax.hpp"
#include "net/event_loops.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>

#include <fcntl.h>

namespace proxy {
namespace {

namespace po = boost::program_options;

constexpr std::string_view usage_line = "usage: proxy --listen ENDPOINT [OPTIONS]\n"
                                        "       proxy --check [POLICY OPTIONS]";

std::chrono::steady_clock::duration seconds_flag(const char* name, double seconds) {
    if (!(seconds > 0) || seconds > 86400 * 365)
        usage_error(fmt::format("--{} {}: must be more than 0 seconds", name, seconds));
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
}

std::optional<int> fd_flag(const po::variables_map& vm, const char* name) {
    if (!vm.count(name))
        return std::nullopt;
    int fd = vm[name].as<int>();
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0)
        usage_error(fmt::format("--{} {}: not an open file descriptor", name, fd));
    return fd;
}

po::options_description option_table(Options& o, double& head, double& connect, double& idle,
                                     std::string& threads) {
    po::options_description d("options");
    d.add_options()("help,h", "print this help and exit")(
        "listen", po::value<std::vector<std::string>>()->value_name("ENDPOINT"),
        "unix:/path, tcp:HOST:PORT, tcp:[V6]:PORT or fd:N, a listening socket "
        "inherited on fd N (repeatable)")(
        "socks-listen", po::value<std::vector<std::string>>()->value_name("ENDPOINT"),
        "also serve SOCKS5 (CONNECT, socks5h names or IP literals) on ENDPOINT, under the "
        "same policy as HTTP CONNECT; the forms of --listen (repeatable)")(
        "forward", po::value<std::vector<std::string>>()->value_name("ENDPOINT=HOST:PORT"),
        "every client of ENDPOINT (the forms of --listen) reaches HOST:PORT: the address "
        "policy applies, the domain policy does not; logged as FORWARD (repeatable)")(
        "filter", po::value<std::string>()->value_name("FILE"),
        "tinyproxy-style filter FILE: an allowlist, one pattern per line")(
        "filter-type", po::value<std::string>()->value_name("TYPE")->default_value("bre"),
        "syntax of the filter patterns: bre, ere or fnmatch")(
        "filter-case-sensitive", po::bool_switch(&o.filter_options.case_sensitive),
        "match filter patterns case-sensitively")(
        "allow", po::value<std::vector<std::string>>(&o.allow)->value_name("PATTERN"),
        "allow example.com, *.example.com, **.example.com[:PORT] (repeatable)")(
        "deny", po::value<std::vector<std::string>>(&o.deny)->value_name("PATTERN"),
        "deny a domain pattern; deny wins (repeatable)")(
        "connect-port", po::value<std::vector<unsigned>>()->value_name("PORT"),
        "port CONNECT may reach (repeatable; default 80 and 443)")(
        "default-deny", po::bool_switch(&o.default_deny),
        "with no --allow and no --filter, refuse every domain (tinyproxy's FilterDefaultDeny; "
        "without it every domain is allowed)")(
        "allow-private", po::bool_switch(&o.allow_private),
        "allow loopback, private, link-local and other special-purpose destinations")(
        "allow-cidr", po::value<std::vector<std::string>>(&o.allow_cidr)->value_name("CIDR"),
        "allow destinations in this CIDR despite the address policy (repeatable)")(
        "public-suffix-list",
        po::value<std::string>(&o.public_suffix_list)
            ->value_name("FILE")
            ->default_value(std::string(default_public_suffix_list)),
        "public suffix list for refusing *.com-like patterns")(
        "refusal-log", po::value<std::string>(&o.refusal_log)->value_name("FILE"),
        "append one JSON line per refusal (host, port, reason, the flag that would allow "
        "it) to FILE or fd:N, before the client gets its 403")(
        "log", po::value<std::string>(&o.log_file)->value_name("FILE"),
        "append JSON-lines access log to FILE (a regular file, never reached through a "
        "symlink), or to fd:N")(
        "image-cache", po::value<std::string>(&o.image_cache.dir)->value_name("DIR"),
        "cache registry blobs (GET/HEAD /v2/NAME/blobs/sha256:D) of the --cache-registry "
        "hosts in DIR, verified by digest when stored and sealed; a changed file is hashed "
        "again before it is served; TLS registries are "
        "intercepted with a CA kept in DIR/ca, which cells trust via DIR/ca/bundle.crt")(
        "image-cache-size", po::value<std::string>()->value_name("SIZE")->default_value("20G"),
        "keep at most SIZE bytes of blobs (K, M, G, T suffixes), evicting the least recently "
        "used")(
        "cache-registry", po::value<std::vector<std::string>>()->value_name("HOST[:PORT]"),
        "a registry whose blobs the image cache keeps and serves to any of this user's cells "
        "(port 443 if left out: TLS, intercepted; another port: plain HTTP unless reached by "
        "CONNECT); the policy must still allow it (repeatable)")(
        "upstream-ca", po::value<std::string>(&o.image_cache.upstream_ca)->value_name("FILE"),
        "also trust the CA certificates in FILE (PEM) when the image cache reaches a registry "
        "over TLS")(
        "ca-bundle-out", po::value<std::string>(&o.image_cache.ca_bundle_out)->value_name("FILE"),
        "before saying ready, overwrite the existing FILE in place with DIR/ca/bundle.crt (a "
        "file already bound into a cell, which sees the new bytes)")(
        "max-connections",
        po::value<std::size_t>(&o.max_connections)->value_name("N")->default_value(1024),
        "answer 503 past N clients at once")(
        "threads", po::value<std::string>(&threads)->value_name("N|auto")->default_value("auto"),
        "run N event loops (1 to 64), each a thread accepting from every listening socket; "
        "auto: one per CPU this process may use, at most 8")(
        "head-timeout", po::value<double>(&head)->value_name("SECONDS")->default_value(10),
        "seconds to receive a request head (408)")(
        "connect-timeout", po::value<double>(&connect)->value_name("SECONDS")->default_value(10),
        "seconds to resolve and connect (504)")(
        "idle-timeout", po::value<double>(&idle)->value_name("SECONDS")->default_value(300),
        "seconds a tunnel or exchange may stay silent")(
        "ready-fd", po::value<int>()->value_name("N"),
        "write \"ready\\n\" to fd N once listening, then close it")(
        "lifeline-fd", po::value<int>()->value_name("N"), "exit as soon as fd N reads EOF")(
        "check", po::bool_switch(&o.check),
        "validate the policy, print compiled rules and warnings, exit (binds nothing)");
    return d;
}

// The cache's flags come together: a cache with no registry would do
// nothing, registries without a cache say the user expected one.
void parse_image_cache(const po::variables_map& vm, ImageCacheOptions& o) {
    auto size = common::parse_size(vm["image-cache-size"].as<std::string>());
    if (!size)
        usage_error("--image-cache-size: " + size.error());
    o.size = *size;
    if (vm.count("cache-registry")) {
        for (const auto& text : vm["cache-registry"].as<std::vector<std::string>>()) {
            auto r = parse_cache_registry(text);
            if (!r)
                usage_error("--cache-registry " + r.error());
            o.registries.push_back(*r);
        }
    }
    if (o.dir.empty()) {
        for (const char* flag : {"cache-registry", "upstream-ca", "ca-bundle-out"})
            if (vm.count(flag))
                usage_error(fmt::format("--{} needs --image-cache DIR", flag));
        if (!vm["image-cache-size"].defaulted())
            usage_error("--image-cache-size needs --image-cache DIR");
    } else if (o.registries.empty()) {
        usage_error("--image-cache " + o.dir +
                    ": name the registries to cache with --cache-registry HOST[:PORT]");
    }
}

void parse_lists(const po::variables_map& vm, Options& o) {
    for (const char* flag : {"listen", "socks-listen"}) {
        if (!vm.count(flag))
            continue;
        for (const auto& text : vm[flag].as<std::vector<std::string>>()) {
            auto e = relay::parse_endpoint(text);
            if (!e)
                usage_error(fmt::format("--{} {}", flag, e.error().message));
            if (auto why = relay::role_mismatch(*e, relay::Endpoint::Role::listen); !why.empty())
                usage_error(fmt::format("--{} {}: {}", flag, text, why));
            (std::string_view(flag) == "listen" ? o.listen : o.socks_listen).push_back(*e);
        }
    }
    if (vm.count("forward")) {
        for (const auto& text : vm["forward"].as<std::vector<std::string>>()) {
            auto eq = text.rfind('=');
            if (eq == std::string::npos)
                usage_error(fmt::format("--forward {}: not ENDPOINT=HOST:PORT", text));
            auto e = relay::parse_endpoint(text.substr(0, eq));
            if (!e)
                usage_error(fmt::format("--forward {}", e.error().message));
            if (auto why = relay::role_mismatch(*e, relay::Endpoint::Role::listen); !why.empty())
                usage_error(fmt::format("--forward {}: {}", text, why));
            auto to = parse_authority_form(text.substr(eq + 1));
            if (!to)
                usage_error(fmt::format("--forward {}: {}", text, to.error()));
            o.forwards.push_back({*e, *to});
        }
    }
    if (vm.count("connect-port")) {
        for (unsigned p : vm["connect-port"].as<std::vector<unsigned>>()) {
            if (p == 0 || p > 65535)
                usage_error(fmt::format("--connect-port {}: not a port from 1 to 65535", p));
            o.connect_ports.push_back(static_cast<std::uint16_t>(p));
        }
    }
    if (vm.count("filter"))
        o.filter_file = vm["filter"].as<std::string>();
    parse_image_cache(vm, o.image_cache);
    auto type = parse_filter_type(vm["filter-type"].as<std::string>());
    if (!type)
        usage_error("--filter-type: " + type.error());
    o.filter_options.type = *type;
}

} // namespace

[[noreturn]] void usage_error(const std::string& message) {
    std::cerr << "proxy: " << message << "\n";
    std::exit(2);
}

Options parse_cli(int argc, char** argv) {
    Options o;
    double head = 0, connect = 0, idle = 0;
    std::string threads;
    auto table = option_table(o, head, connect, idle, threads);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(table).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        usage_error(e.what());
    }
    if (vm.count("help")) {
        std::cout << usage_line << "\n\n" << table;
        std::exit(0);
    }
    parse_lists(vm, o);
    o.timeouts = {seconds_flag("head-timeout", head), seconds_flag("connect-timeout", connect),
                  seconds_flag("idle-timeout", idle)};
    o.lifetime = {fd_flag(vm, "ready-fd"), fd_flag(vm, "lifeline-fd")};
    if (o.max_connections == 0)
        usage_error("--max-connections 0: must be at least 1");
    auto loops = relay::parse_event_loops(threads, "--threads");
    if (!loops)
        usage_error(loops.error().message);
    o.threads = *loops;
    if (o.listen.empty() && o.socks_listen.empty() && o.forwards.empty() && !o.check)
        usage_error("--listen ENDPOINT is required (or --socks-listen, --forward; try --help)");
    return o;
}

} // namespace proxy
