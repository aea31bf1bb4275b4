// Command line of the `proxy` program: one pass over the arguments into an
// Options value; usage errors exit 2 with one `proxy: ...` line naming the
// flag. Policy flags are kept as text here and compiled by policy_load.cpp,
// so SIGHUP can recompile them with the filter file.
#pragma once

#include "proxy/policy_names.hpp"
#include "proxy/request_target.hpp"

#include "net/endpoint.hpp"
#include "net/lifetime.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace proxy {

struct Timeouts {
    std::chrono::steady_clock::duration head = std::chrono::seconds(10);
    std::chrono::steady_clock::duration connect = std::chrono::seconds(10);
    std::chrono::steady_clock::duration idle = std::chrono::seconds(300);
};

// `--forward ENDPOINT=HOST:PORT`: every client of ENDPOINT reaches HOST:PORT.
struct ForwardListen {
    relay::Endpoint listen;
    Target to;
};

// `--image-cache DIR` and its companions (image_cache.hpp).
struct ImageCacheOptions {
    std::string dir; // empty: no cache
    std::uint64_t size = 20ULL << 30;
    std::vector<Target> registries; // --cache-registry: host and port
    std::string upstream_ca;        // --upstream-ca: a further CA for reaching registries
    std::string ca_bundle_out;      // --ca-bundle-out: a cell's bundle, written in place
};

struct Options {
    std::vector<relay::Endpoint> listen;
    std::vector<relay::Endpoint> socks_listen; // SOCKS5 clients, same policy
    std::vector<ForwardListen> forwards;

    std::optional<std::string> filter_file;
    FilterOptions filter_options;
    std::vector<std::string> allow;
    std::vector<std::string> deny;
    std::vector<std::uint16_t> connect_ports; // empty = 80 and 443
    bool allow_private = false;
    bool default_deny = false; // no --allow/--filter: refuse every domain
    std::vector<std::string> allow_cidr;
    std::string public_suffix_list;
    std::string log_file;
    std::string refusal_log; // refusals only, one JSON line each (FILE or fd:N)
    ImageCacheOptions image_cache;
    std::size_t max_connections = 1024;
    unsigned threads = 1; // event loops (--threads N|auto)
    Timeouts timeouts;
    relay::LifetimeOptions lifetime;
    bool check = false;
};

// Prints help and exits 0 for --help; exits 2 on a usage error.
Options parse_cli(int argc, char** argv);

[[noreturn]] void usage_error(const std::string& message);

} // namespace proxy
