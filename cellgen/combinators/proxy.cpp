// `proxy`: HTTP(S) is the jail's only way out. The host proxy serves
// 127.0.0.1:PORT inside the jail on a socket the launcher binds in the
// jail's network namespace (plan.hpp, JailListen): no helper runs in the
// jail and nothing is bound into it. The variables below are what common
// tools read to find a proxy.
#include "cellgen/combinators/combinators.hpp"

#include <fmt/format.h>

namespace cellgen {

namespace {

void set_proxy_env(Jail& jail, int port, int socks_port) {
    const auto url = fmt::format("http://127.0.0.1:{}", port);
    for (const char* name :
         {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "npm_config_proxy",
          "npm_config_https_proxy", "CARGO_HTTP_PROXY", "PIP_PROXY"}) {
        jail.set_env(name, url);
    }
    // What a client uses for any other scheme (curl's and git's rule):
    // SOCKS5 with names sent to the proxy (socks5h), so the policy sees the
    // name, as with CONNECT. Without a SOCKS port, the HTTP proxy.
    const auto all = socks_port != 0 ? fmt::format("socks5h://127.0.0.1:{}", socks_port) : url;
    for (const char* name : {"ALL_PROXY", "all_proxy"}) {
        jail.set_env(name, all);
    }
    for (const char* name : {"NO_PROXY", "no_proxy"}) {
        jail.set_env(name, "localhost,127.0.0.1,::1");
    }
    jail.set_env("JAVA_TOOL_OPTIONS",
                 fmt::format("-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort={0} "
                             "-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort={0}",
                             port));
}

// ssh inside the cell: a system-wide ssh_config whose ProxyCommand is
// cell-connect (bound in read-only) through the SOCKS5 port, so `git clone
// ssh://...` and `ssh host` need no setup of the user's. A fresh cell has
// no known_hosts, so a new host key is accepted (and remembered for the
// cell's life) while a changed one is still refused; bind a known_hosts at
// /home/cell/.ssh/known_hosts to pin keys.
constexpr const char* kJailConnect = "/run/cell/cell-connect";

void add_ssh_config(Jail& jail, const std::string& connect_bin, int socks_port) {
    jail.mount("--ro-bind", {connect_bin, std::string(kJailConnect)});
    jail.add_runtime_file(
        "etc/ssh_config",
        fmt::format("# Written by unsafe-cell. ssh in the cell reaches hosts through the cell's\n"
                    "# SOCKS5 port, under the cell's policy: allow a host with --allow HOST:22.\n"
                    "Host *\n"
                    "    ProxyCommand {} 127.0.0.1:{} %h %p\n"
                    "    StrictHostKeyChecking accept-new\n",
                    kJailConnect, socks_port));
    jail.mount("--ro-bind", {RuntimePath{"etc/ssh_config"}, std::string("/etc/ssh/ssh_config")});
}

void apply_proxy(Jail& jail, const Invocation& inv, const Context& ctx) {
    if (!ctx.settings.proxy_bin) {
        fail(inv, "the proxy binary was not found next to cellgen, in the build tree or on "
                  "PATH (use --proxy-bin)");
    }
    jail.proxy = ProxySpec{inv.origin};
    set_proxy_env(jail, ctx.settings.proxy.port, ctx.settings.proxy.socks_port);
    if (ctx.settings.proxy.socks_port != 0 && ctx.settings.connect_bin) {
        add_ssh_config(jail, *ctx.settings.connect_bin, ctx.settings.proxy.socks_port);
    }
}

void apply_allow_all(Jail& jail, const Invocation&, const Context&) {
    jail.allow_all_domains = true;
}

} // namespace

std::vector<Combinator> proxy_combinators() {
    return {{"proxy", "",
             "HTTP(S) through the host proxy only: plan `proxy` (with --filter, --filter-type, "
             "--allow, --deny, --allow-cidr, --connect-port; access log in the log dir) serving "
             "127.0.0.1:--proxy-port (default 3128) inside the jail, on a socket the launcher "
             "binds in the jail's network namespace (so the jail must not share the host's), and "
             "set HTTP(S)_PROXY, NO_PROXY (both cases), npm, cargo, pip and JVM proxy "
             "settings; SOCKS5 on 127.0.0.1:--socks-port (default 1080, 0 for none) under the "
             "same policy, with ALL_PROXY/all_proxy=socks5h://127.0.0.1:PORT and an "
             "/etc/ssh/ssh_config whose ProxyCommand (cell-connect, bound in) goes through it, "
             "so ssh and git over ssh reach hosts allowed with --allow HOST:22; and each "
             "--forward PORT=HOST:PORT on 127.0.0.1:PORT.",
             0, 0, apply_proxy},
            {"allow-all", "",
             "Let the proxy admit every domain. Without it a cell is deny by default: only "
             "what --allow or --filter names is admitted, and with neither, nothing (the "
             "launcher says which at start). The address policy (no loopback, private or "
             "link-local destinations without --allow-cidr) holds either way.",
             0, 0, apply_allow_all}};
}

} // namespace cellgen
