// `proxy`: HTTP(S) is the jail's only way out. The host proxy listens on a
// Unix socket in the runtime dir, bound into the jail; the jail's first
// process is a relay that serves it on 127.0.0.1:PORT and then execs the
// command. The variables below are what common tools read to find a proxy.
#include "combinators.hpp"

#include <fmt/format.h>

namespace cellgen {

namespace {

void set_proxy_env(Jail& jail, int port) {
    const auto url = fmt::format("http://127.0.0.1:{}", port);
    for (const char* name :
         {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
          "npm_config_proxy", "npm_config_https_proxy", "CARGO_HTTP_PROXY", "PIP_PROXY"}) {
        jail.set_env(name, url);
    }
    for (const char* name : {"NO_PROXY", "no_proxy"}) {
        jail.set_env(name, "localhost,127.0.0.1,::1");
    }
    jail.set_env("JAVA_TOOL_OPTIONS",
                 fmt::format("-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort={0} "
                             "-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort={0}",
                             port));
}

void apply_proxy(Jail& jail, const Invocation& inv, const Context& ctx) {
    if (!ctx.settings.relay_bin) {
        fail(inv, "the relay binary was not found next to cellgen, in the build tree or on "
                  "PATH (use --relay-bin)");
    }
    if (!ctx.settings.proxy_bin) {
        fail(inv, "the proxy binary was not found next to cellgen, in the build tree or on "
                  "PATH (use --proxy-bin)");
    }
    jail.proxy = ProxySpec{*ctx.settings.relay_bin};
    jail.add_runtime_dir("proxy");
    // The relay is statically linked: the file alone is enough inside the jail.
    jail.mount("--ro-bind", {*ctx.settings.relay_bin, kJailRelay});
    jail.mount("--ro-bind", {RuntimePath{"proxy"}, kJailProxyDir});
    set_proxy_env(jail, ctx.settings.proxy.port);
}

} // namespace

std::vector<Combinator> proxy_combinators() {
    return {{"proxy", "",
             "HTTP(S) through the host proxy only: plan `proxy` on a Unix socket in the runtime "
             "dir (with --filter, --filter-type, --allow, --deny, --allow-cidr, --connect-port; "
             "access log in the log dir), bind it at /run/cell/proxy, start the command through "
             "an in-jail relay on 127.0.0.1:--proxy-port (default 3128), and set HTTP(S)_PROXY, "
             "ALL_PROXY, NO_PROXY (both cases), npm, cargo, pip and JVM proxy settings.",
             0, 0, apply_proxy}};
}

} // namespace cellgen
