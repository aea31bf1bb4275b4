// Jail -> Plan: the bwrap option list in a fixed order (namespaces, identity,
// process flags, mounts in combinator order, log dir, env, chdir, raw args,
// then base's read-only /) and the host daemons.
#include "cellgen/plan.hpp"

#include "cellgen/usage_error.hpp"

#include "cellgen/jail.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace cellgen {

namespace {

constexpr std::pair<Namespace, const char*> kUnshareFlags[] = {
    {Namespace::user, "--unshare-user"}, {Namespace::ipc, "--unshare-ipc"},
    {Namespace::pid, "--unshare-pid"},   {Namespace::net, "--unshare-net"},
    {Namespace::uts, "--unshare-uts"},   {Namespace::cgroup, "--unshare-cgroup"},
};

void add_process_args(const Jail& jail, Args& out) {
    for (const auto& [ns, flag] : kUnshareFlags) {
        if (jail.unshared.contains(ns)) {
            out.emplace_back(flag);
        }
    }
    // bwrap only maps ids inside a new user namespace.
    if (jail.unshared.contains(Namespace::user)) {
        if (jail.uid) {
            out.insert(out.end(), {std::string("--uid"), std::to_string(*jail.uid)});
        }
        if (jail.gid) {
            out.insert(out.end(), {std::string("--gid"), std::to_string(*jail.gid)});
        }
    }
    if (jail.hostname && jail.unshared.contains(Namespace::uts)) {
        out.insert(out.end(), {std::string("--hostname"), *jail.hostname});
    }
    if (jail.new_session) {
        out.emplace_back("--new-session");
    }
    if (jail.die_with_parent) {
        out.emplace_back("--die-with-parent");
    }
    if (jail.clear_env) {
        out.emplace_back("--clearenv");
    }
}

void add_fs_and_env_args(const Jail& jail, Args& out) {
    for (const auto& op : jail.mounts) {
        out.emplace_back(op.flag);
        out.insert(out.end(), op.args.begin(), op.args.end());
    }
    // Read-only inside: the host writes these logs (the launcher, the proxy),
    // so a program that could plant a symlink here would make them write to
    // a host file of its choosing. It can still read the access log.
    if (jail.log_dir) {
        out.insert(out.end(), {std::string("--ro-bind"), *jail.log_dir, std::string(kJailLogDir)});
    }
    for (const auto& [name, value] : jail.env) {
        out.insert(out.end(), {std::string("--setenv"), name, value});
    }
    if (jail.chdir) {
        out.insert(out.end(), {std::string("--chdir"), *jail.chdir});
    }
    for (const auto& raw : jail.raw_args) {
        out.emplace_back(raw.text);
    }
    // Last of all: every mount point, raw ones included, must exist before / turns
    // read-only; tmpfs and bind mounts below it stay writable as they were made.
    if (jail.readonly_root) {
        out.insert(out.end(), {std::string("--remount-ro"), std::string("/")});
    }
}

// The image cache dir holds the CA key and the blobs every cell of the user
// trusts: a cell that could read it could mint certificates for any name,
// one that could write it could plant blobs and seals. So it must not be
// inside anything bound into the cell (checked on the paths as given: a
// symlink into a bound tree is the user's own doing).
void check_cache_dir_outside(const Jail& jail) {
    const std::string& dir = jail.image_cache->dir;
    auto inside = [&](const std::string& src) {
        if (src.empty() || src.front() != '/')
            return false;
        auto base = src.size() > 1 && src.back() == '/' ? src.substr(0, src.size() - 1) : src;
        return dir == base || base == "/" || dir.starts_with(base + "/");
    };
    std::vector<std::string> sources;
    for (const auto& op : jail.mounts) {
        bool is_bind = op.flag.find("bind") != std::string::npos;
        if (is_bind && !op.args.empty()) {
            if (const auto* src = std::get_if<std::string>(&op.args.front())) {
                sources.push_back(*src);
            }
        }
    }
    if (jail.worktree) {
        sources.push_back(*jail.worktree);
    }
    if (jail.log_dir) {
        if (const auto* src = std::get_if<std::string>(&*jail.log_dir)) {
            sources.push_back(*src);
        }
    }
    for (const auto& src : sources) {
        if (inside(src)) {
            throw UsageError(fmt::format(
                "--image-cache-dir {}: inside {}, which is bound into the cell; the cache holds "
                "the CA key the cell's TLS trusts: keep it outside every bind",
                dir, src));
        }
    }
}

// The cell's CA bundle with --image-cache, in the runtime dir.
constexpr const char* kCaBundleFile = "ca-bundle.crt";

// The proxy's jail listeners, in the order of their fds (jail_listen_fd):
// HTTP, SOCKS5 (unless --socks-port 0), each --forward, then with
// --containers HTTP again on the containers' gateway address.
std::vector<JailListen> proxy_listens(const ProxySettings& s, bool containers) {
    std::vector<JailListen> out{{"127.0.0.1", s.port}};
    if (s.socks_port != 0) {
        out.push_back({"127.0.0.1", s.socks_port});
    }
    for (const auto& f : s.forwards) {
        out.push_back({"127.0.0.1", f.port});
    }
    if (containers) {
        out.push_back({kContainerGateway, s.port});
    }
    return out;
}

Args proxy_argv(const ProxySettings& s, const std::string& bin, bool log, bool allow_all,
                bool containers, const std::optional<ImageCacheSpec>& cache) {
    Args argv{bin, std::string("--listen"), fmt::format("fd:{}", jail_listen_fd(0))};
    std::size_t next = 1;
    if (s.socks_port != 0) {
        argv.insert(argv.end(),
                    {std::string("--socks-listen"), fmt::format("fd:{}", jail_listen_fd(next++))});
    }
    for (const auto& f : s.forwards) {
        argv.insert(argv.end(), {std::string("--forward"),
                                 fmt::format("fd:{}={}", jail_listen_fd(next++), f.to)});
    }
    if (containers) {
        argv.insert(argv.end(),
                    {std::string("--listen"), fmt::format("fd:{}", jail_listen_fd(next++))});
    }
    if (!allow_all) {
        argv.emplace_back(std::string("--default-deny"));
    }
    auto add = [&](const char* flag, const std::string& value) {
        argv.insert(argv.end(), {std::string(flag), value});
    };
    if (s.filter) {
        add("--filter", *s.filter);
    }
    if (s.filter_type) {
        add("--filter-type", *s.filter_type);
    }
    for (const auto& p : s.allow) {
        add("--allow", p);
    }
    for (const auto& p : s.deny) {
        add("--deny", p);
    }
    for (const auto& c : s.allow_cidr) {
        add("--allow-cidr", c);
    }
    // In a cell --connect-port adds to the proxy's default CONNECT ports
    // (80 and 443), which the proxy's own flag replaces: spelled out here.
    if (!s.connect_ports.empty()) {
        std::vector<int> ports{80, 443};
        for (int port : s.connect_ports) {
            if (std::find(ports.begin(), ports.end(), port) == ports.end()) {
                ports.push_back(port);
            }
        }
        for (int port : ports) {
            add("--connect-port", std::to_string(port));
        }
    }
    if (cache) {
        add("--image-cache", cache->dir);
        add("--image-cache-size", std::to_string(cache->size));
        for (const auto& r : cache->registries) {
            add("--cache-registry", r);
        }
        if (cache->upstream_ca) {
            add("--upstream-ca", *cache->upstream_ca);
        }
        argv.insert(argv.end(), {std::string("--ca-bundle-out"), RuntimePath{kCaBundleFile}});
    }
    if (log) {
        add("--log", fmt::format("fd:{}", kAccessLogFd));
        add("--refusal-log", fmt::format("fd:{}", kRefusalLogFd));
    }
    return argv;
}

// The proxy serves 127.0.0.1:PORT inside the jail on a socket the launcher
// binds in the jail's network namespace (JailListen). The access log (JSON
// lines the launcher summarises) is LOGDIR/proxy-access.log; the proxy's
// stderr goes to LOGDIR/proxy.log like every daemon's, so a warning never
// breaks a JSON line.
// The one line that says what the proxy admits, at every start.
std::string policy_notice(const ProxySettings& s, bool allow_all) {
    if (allow_all) {
        return "the proxy admits every domain (--allow-all); loopback, private and link-local "
               "destinations stay refused unless --allow-cidr names them";
    }
    if (s.allow.empty() && !s.filter) {
        return "the proxy admits no domain (deny by default): allow one with --allow HOST, or "
               "every one with --allow-all";
    }
    return {};
}

void add_proxy(Plan& plan, const ProxySettings& s, const Binaries& bins, const Jail& jail) {
    const bool allow_all = jail.allow_all_domains;
    const bool containers = jail.containers;
    if (auto notice = policy_notice(s, allow_all); !notice.empty()) {
        plan.notices.push_back(std::move(notice));
    }
    // Lint of the filter file (e.g. an unanchored pattern also admits
    // github.com.evil.example): at start, where the user looks.
    plan.notices.insert(plan.notices.end(), s.filter_warnings.begin(), s.filter_warnings.end());
    Daemon d{"proxy",
             proxy_argv(s, bins.proxy.value_or("proxy"), plan.log_dir.has_value(), allow_all,
                        containers, jail.image_cache),
             "on",
             std::nullopt,
             proxy_listens(s, containers),
             std::nullopt,
             std::nullopt};
    if (plan.log_dir) {
        d.access_log = "proxy-access.log";
        d.refusal_log = "refusals.jsonl";
    }
    plan.daemons.push_back(std::move(d));
}

void add_nix_daemon(Plan& plan, const NixDaemonSpec& nix, const Binaries& bins) {
    auto host_socket = nix.socket_dir + "/socket";
    Daemon d{"nix",
             // --drop-root: the daemon must see an ordinary user, not a root
             // caller's trust (SECURITY: post-build-hook runs as root).
             // --threads 1: a handful of client connections, where a loop
             // per core (relay's default) buys nothing.
             {bins.relay.value_or("relay"), "--drop-root", "--threads", "1",
              RuntimePath{"nix/socket", "unix:"}, "unix:" + host_socket},
             nix.mode,
             host_socket,
             {},
             std::nullopt,
             std::nullopt};
    plan.daemons.push_back(std::move(d));
}

// The caller's agent, relayed as the caller: the agent refuses a peer of
// another uid, so no --drop-root here (unlike the nix relay).
void add_ssh_agent(Plan& plan, const std::string& host_socket, const Binaries& bins) {
    Daemon d{"ssh-agent",
             {bins.relay.value_or("relay"), "--threads", "1",
              RuntimePath{"ssh-agent/socket", "unix:"}, "unix:" + host_socket},
             "on",
             host_socket,
             {},
             std::nullopt,
             std::nullopt};
    plan.daemons.push_back(std::move(d));
}

} // namespace

Plan make_plan(const Jail& given, const ProxySettings& proxy, const Binaries& bins,
               std::vector<std::string> command) {
    // The proxy's refusals, live, where the program can read them: the log
    // dir is bound read-only at /var/log/cell (known only once every
    // combinator has run, so set here).
    Jail jail = given;
    if (jail.proxy && jail.log_dir) {
        jail.set_env("CELL_REFUSALS", fmt::format("{}/refusals.jsonl", kJailLogDir));
    }
    // The cache's CA bundle, last of the mounts so no bind of /etc/ssl
    // hides it: an empty runtime file when bwrap binds it, filled in place
    // by the proxy (--ca-bundle-out) before it says ready, so before the
    // command starts. Nothing of the cache dir itself enters the cell.
    if (jail.proxy && jail.image_cache) {
        check_cache_dir_outside(jail);
        jail.add_runtime_file(kCaBundleFile, "");
        jail.mount("--ro-bind", {RuntimePath{kCaBundleFile}, std::string(kJailCaBundle)});
    }
    Plan plan;
    plan.bwrap = bins.bwrap;
    plan.launch = bins.launch.value_or("cell-launch");
    add_process_args(jail, plan.bwrap_args);
    add_fs_and_env_args(jail, plan.bwrap_args);
    plan.command = std::move(command);
    plan.jail_init = jail.jail_init;
    plan.env = jail.env;
    plan.runtime_dirs = jail.runtime_dirs;
    plan.runtime_files = jail.runtime_files;
    plan.private_devices = jail.private_devices;
    plan.max_procs = jail.max_procs;
    plan.memory_max = jail.memory_max;
    plan.worktree = jail.worktree;
    plan.masks = jail.masks;
    plan.required_dirs = jail.required_dirs;
    for (auto& d : plan.required_dirs) {
        d.system_ok = d.system_ok || jail.system_dirs_ok;
    }
    plan.forwarded_env = jail.forwarded_env;
    plan.log_dir = jail.log_dir;
    if (jail.proxy) {
        add_proxy(plan, proxy, bins, jail);
    }
    if (jail.nix_daemon) {
        add_nix_daemon(plan, *jail.nix_daemon, bins);
    }
    if (jail.ssh_agent_socket) {
        add_ssh_agent(plan, *jail.ssh_agent_socket, bins);
    }
    return plan;
}

} // namespace cellgen
