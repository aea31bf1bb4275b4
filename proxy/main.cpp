// proxy: the cell's only way out. Parse, compile the policy (or just print
// it with --check), bind every listener, then serve until a signal or the
// lifeline stops us. The order matters: policy errors and bind errors reach
// the caller before readiness is signalled.
#include "proxy/image_cache.hpp"
#include "proxy/policy_load.hpp"
#include "proxy/proxy_cli.hpp"
#include "proxy/proxy_context.hpp"
#include "proxy/server.hpp"

#include "net/event_loops.hpp"
#include "net/lifetime.hpp"
#include "net/listener.hpp"
#include "net/log_file.hpp"

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <iostream>

#include <sys/prctl.h>
#include <sys/resource.h>

namespace {

// Every client costs two descriptors (client and upstream); the usual soft
// limit of 1024 would cap the proxy near 500 clients, well under
// --max-connections. The hard limit is ours to take.
void raise_fd_limit() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &r);
    }
}

// --threads N: N - 1 event loops besides the main one, each with a copy of
// every listening socket (the kernel gives each connection to one loop) and
// a Server of its own; a session never leaves its loop. They share the
// context: the policy, the connection count, the logs and the image cache.
boost::system::result<void, relay::Failure>
add_loops(relay::EventLoops<proxy::Server>& loops, const std::shared_ptr<proxy::ProxyContext>& ctx,
          std::vector<relay::Listener>& listeners, const std::vector<proxy::Service>& services) {
    for (unsigned i = 1; i < ctx->options.threads; ++i) {
        auto& ioc = loops.add();
        std::vector<relay::Listener> copies;
        for (auto& l : listeners) {
            auto copy = relay::duplicate_listener(l, ioc.get_executor());
            if (!copy)
                return copy.error();
            copies.push_back(std::move(*copy));
        }
        loops.emplace(ioc, std::move(copies), services, ctx, proxy::Server::Role::extra);
    }
    return {};
}

int check(const proxy::Options& options) {
    auto compiled = proxy::compile_policy(options);
    if (!compiled) {
        fmt::print(stderr, "proxy: {}\n", compiled.error());
        return 1;
    }
    std::cout << proxy::describe_policy(*compiled);
    for (const auto& w : compiled->warnings)
        std::cout << w << "\n";
    return 0;
}

int run(proxy::Options options) {
    auto compiled = proxy::compile_policy(options);
    if (!compiled) {
        fmt::print(stderr, "proxy: {}\n", compiled.error());
        return 1;
    }
    for (const auto& w : compiled->warnings)
        fmt::print(stderr, "proxy: {}\n", w);
    raise_fd_limit();
    boost::asio::io_context ioc(1);
    std::vector<relay::Listener> listeners;
    for (const auto& e : options.listen) {
        auto l = relay::Listener::open(ioc.get_executor(), e);
        if (!l) {
            fmt::print(stderr, "proxy: --listen {}\n", l.error().message);
            return 1;
        }
        listeners.push_back(std::move(*l));
    }
    std::vector<proxy::Service> services(listeners.size());
    for (const auto& e : options.socks_listen) {
        auto l = relay::Listener::open(ioc.get_executor(), e);
        if (!l) {
            fmt::print(stderr, "proxy: --socks-listen {}\n", l.error().message);
            return 1;
        }
        listeners.push_back(std::move(*l));
        services.push_back({proxy::Service::Kind::socks, std::nullopt, {}});
    }
    for (const auto& f : options.forwards) {
        auto l = relay::Listener::open(ioc.get_executor(), f.listen);
        if (!l) {
            fmt::print(stderr, "proxy: --forward {}\n", l.error().message);
            return 1;
        }
        listeners.push_back(std::move(*l));
        services.push_back({proxy::Service::Kind::forward, f.to, {}});
    }
    auto ctx = std::make_shared<proxy::ProxyContext>();
    ctx->accept_failures = std::vector<relay::AcceptFailures>(listeners.size());
    if (!options.refusal_log.empty()) {
        if (auto fd = relay::open_log_file(options.refusal_log, "--refusal-log")) {
            ctx->refusals = proxy::RefusalLog(*fd);
        } else {
            fmt::print(stderr, "proxy: {}; serving on without a refusal log\n", fd.error().message);
        }
    }
    if (!options.log_file.empty()) {
        // A log that cannot be opened never stops the proxy (docs/proxy.md).
        if (auto fd = relay::open_log_file(options.log_file)) {
            ctx->log = proxy::AccessLog(*fd, options.log_file);
        } else {
            fmt::print(stderr, "proxy: {}; serving on without an access log\n", fd.error().message);
        }
    }
    // Before readiness: a cell binds the CA bundle this writes.
    if (!options.image_cache.dir.empty()) {
        // The CA key is in this process's memory: no core dumps, and no
        // ptrace or /proc/PID/mem from a same-uid process (a cell sharing
        // the host's pid and user namespaces would otherwise reach it).
        ::prctl(PR_SET_DUMPABLE, 0);
        try {
            ctx->cache = std::make_shared<proxy::ImageCache>(options.image_cache);
        } catch (const std::exception& e) {
            fmt::print(stderr, "proxy: --image-cache {}: {}\n", options.image_cache.dir, e.what());
            return 1;
        }
    }
    ctx->policy.store(std::make_shared<const proxy::CompiledPolicy>(std::move(*compiled)));
    ctx->options = std::move(options);
    relay::EventLoops<proxy::Server> loops;
    if (auto added = add_loops(loops, ctx, listeners, services); !added) {
        fmt::print(stderr, "proxy: --threads {}: {}\n", ctx->options.threads,
                   added.error().message);
        return 1;
    }
    proxy::Server server(ioc, std::move(listeners), std::move(services), ctx);
    relay::Lifetime lifetime(ioc, ctx->options.lifetime,
                             [&server, &loops](const std::string& reason) {
                                 server.stop(reason);
                                 loops.stop(reason);
                             });
    if (auto started = lifetime.start(); !started) {
        fmt::print(stderr, "proxy: {}\n", started.error().message);
        return 1;
    }
    server.start();
    loops.start();
    lifetime.ready();
    ioc.run();
    loops.join();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    auto options = proxy::parse_cli(argc, argv);
    return options.check ? check(options) : run(std::move(options));
}
