// `containers`: a container engine of the cell's own. Rootless podman runs
// inside the cell, in user namespaces below the cell's, so nothing it does
// (a --privileged container included) gets more than the cell has: the
// cell's read-only binds, /proc/sys and network stay as they are. Its
// Docker-compatible API service is started by cell-engine before the
// command (DOCKER_HOST points at it); images are kept in the user's store
// on the host, shared by their cells. What each piece is for, and the
// failures without it, are in docs/containers.md.
#include "cellgen/combinators/combinators.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace cellgen {

namespace {

constexpr const char* kJailEngine = "/run/cell/cell-engine";
constexpr const char* kJailStore = "/home/cell/.cache/containers";
constexpr const char* kJailConfDir = "/etc/containers";

// The jail path a mount op makes, when it makes one.
const std::string* destination(const MountOp& op) {
    if (op.flag == "--size" || op.flag == "--perms" || op.args.empty()) {
        return nullptr;
    }
    return std::get_if<std::string>(&op.args.back());
}

// A tmpfs at /run, made before anything already placed under /run (the
// cell's helpers at /run/cell) so it hides none of them.
void add_run_tmpfs(Jail& jail, unsigned long long size) {
    auto first_under_run = std::find_if(jail.mounts.begin(), jail.mounts.end(), [](const auto& op) {
        const auto* dest = destination(op);
        return dest && (dest->starts_with("/run/") || *dest == "/run");
    });
    std::vector<MountOp> ops;
    if (size > 0) {
        ops.push_back({"--size", {std::to_string(size)}});
    }
    ops.push_back({"--tmpfs", {std::string("/run")}});
    // Keep a --size/--perms that belongs to the op found with it.
    while (first_under_run != jail.mounts.begin() &&
           (std::prev(first_under_run)->flag == "--size" ||
            std::prev(first_under_run)->flag == "--perms")) {
        --first_under_run;
    }
    jail.mounts.insert(first_under_run, ops.begin(), ops.end());
}

// Every container gets the cell's proxy at the one address that reaches it
// from any network mode (jail_listen.hpp, kContainerGateway); the engine
// does not hand its own 127.0.0.1 variables on.
std::string containers_conf(int proxy_port) {
    const auto url = fmt::format("http://{}:{}", kContainerGateway, proxy_port);
    std::string env;
    for (const char* name : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}) {
        env += fmt::format("\"{}={}\", ", name, url);
    }
    env += "\"NO_PROXY=localhost,127.0.0.1,::1\", \"no_proxy=localhost,127.0.0.1,::1\"";
    return "# Written by unsafe-cell for --containers: rootless podman inside the cell.\n"
           "[containers]\n"
           "http_proxy = false\n"
           "env = [" +
           env +
           "]\n"
           "# The podman CLI's containers share the cell's network (its 127.0.0.1, its\n"
           "# proxy); the Docker API's default stays a bridge behind slirp4netns.\n"
           "netns = \"host\"\n"
           "userns = \"host\"\n"
           "# One uid in the cell: no cgroups to delegate, no sysctls to set.\n"
           "cgroups = \"disabled\"\n"
           "cgroupns = \"host\"\n"
           "default_sysctls = []\n"
           "log_driver = \"k8s-file\"\n"
           "# The cell's /proc: a fresh procfs is refused below bwrap's covers of /proc/sys.\n"
           "volumes = [\"/proc:/proc\"]\n"
           "[engine]\n"
           "# Bridge containers reach the cell's 127.0.0.1 as 10.0.2.2.\n"
           "network_cmd_options = [\"allow_host_loopback=true\"]\n"
           "cgroup_manager = \"cgroupfs\"\n"
           "events_logger = \"file\"\n"
           "image_copy_tmp_dir = \"/var/tmp\"\n"
           "runtime = \"crun\"\n"
           "[network]\n"
           "default_rootless_network_cmd = \"slirp4netns\"\n";
}

std::string storage_conf(const std::string& root, const std::string& runroot) {
    return fmt::format("# Written by unsafe-cell for --containers.\n"
                       "[storage]\n"
                       "driver = \"overlay\"\n"
                       "runroot = \"{0}\"\n"
                       "graphroot = \"{1}\"\n"
                       "rootless_storage_path = \"{1}\"\n"
                       "[storage.options.overlay]\n"
                       "# One uid in the cell: files of other owners in an image become the\n"
                       "# cell user's.\n"
                       "ignore_chown_errors = \"true\"\n",
                       runroot, root);
}

std::string registries_conf(const std::vector<std::string>& insecure) {
    std::string out = "# Written by unsafe-cell for --containers. Pulls go through the cell's\n"
                      "# proxy and its policy: allow a registry with --allow HOST.\n"
                      "unqualified-search-registries = [\"docker.io\"]\n";
    for (const auto& r : insecure) {
        out += fmt::format("\n[[registry]]\nlocation = \"{}\"\ninsecure = true\n", r);
    }
    return out;
}

void apply_containers(Jail& jail, const Invocation& inv, const Context& ctx) {
    if (!ctx.settings.engine_bin) {
        fail(inv, "cell-engine was not found next to cellgen or in the build tree");
    }
    if (!jail.jail_init.empty()) {
        fail(inv, "given twice");
    }
    const auto size = ctx.settings.tmpfs_size;
    const auto xdg = fmt::format("/run/user/{}", ctx.settings.uid);
    add_run_tmpfs(jail, size);
    // podman statfs()es /sys/fs/cgroup; an empty tmpfs there also hides the
    // host's cgroup hierarchy, which crun cannot use in a cell.
    jail.mount("--ro-bind", {std::string("/sys"), std::string("/sys")});
    jail.tmpfs("/sys/fs/cgroup", size);
    // Net sysctls act on the writer's own network namespace, and only where
    // it holds CAP_NET_ADMIN: podman's, not the cell's (docs/security.md).
    jail.mount("--bind", {std::string("/proc/sys/net"), std::string("/proc/sys/net")});
    // slirp4netns: a root caller gets a private copy of the node (base.cpp).
    jail.mount("--dev-bind-try", {std::string("/dev/net/tun"), std::string("/dev/net/tun")});
    jail.mount("--dev-bind-try", {RuntimePath{"dev/tun"}, std::string("/dev/net/tun")});
    jail.private_devices.emplace_back("/dev/net/tun");
    jail.tmpfs("/var/tmp", size);
    jail.add_runtime_dir("containers");
    jail.add_runtime_file("containers/containers.conf", containers_conf(ctx.settings.proxy.port));
    jail.containers = true;
    jail.add_runtime_file("containers/storage.conf",
                          storage_conf(fmt::format("{}/storage", kJailStore), xdg + "/containers"));
    jail.add_runtime_file("containers/storage-private.conf",
                          storage_conf("/var/tmp/containers-storage", xdg + "/containers"));
    jail.add_runtime_file("containers/registries.conf",
                          registries_conf(ctx.settings.insecure_registries));
    // podman-docker's `docker` says on every call that it emulates Docker
    // unless this file exists; in a cell that is documented, not news.
    jail.add_runtime_file("containers/nodocker", "");
    jail.add_runtime_file("containers/policy.json",
                          "{\"default\": [{\"type\": \"insecureAcceptAnything\"}]}\n");
    jail.mount("--ro-bind", {RuntimePath{"containers"}, std::string(kJailConfDir)});
    // No DNS in the cell: names are resolved by the proxy. The file must exist.
    jail.add_runtime_file("etc/resolv.conf",
                          "# unsafe-cell: no DNS in the cell; names go to the proxy.\n"
                          "nameserver 127.0.0.1\n");
    jail.mount("--ro-bind", {RuntimePath{"etc/resolv.conf"}, std::string("/etc/resolv.conf")});
    auto store =
        user_cache_dir(inv, ctx, ctx.settings.container_store, "--container-store", "containers");
    jail.required_dirs.push_back({culprit(inv), store, false, true});
    jail.mount("--bind", {store, std::string(kJailStore)});
    jail.mount("--ro-bind", {*ctx.settings.engine_bin, std::string(kJailEngine)});
    const auto socket = xdg + "/podman/podman.sock";
    jail.set_env("XDG_RUNTIME_DIR", xdg);
    jail.set_env("DOCKER_HOST", "unix://" + socket);
    jail.set_env("CONTAINERS_CONF", std::string(kJailConfDir) + "/containers.conf");
    jail.set_env("CONTAINERS_REGISTRIES_CONF", std::string(kJailConfDir) + "/registries.conf");
    jail.jail_init = {kJailEngine,
                      "--socket",
                      socket,
                      "--store",
                      kJailStore,
                      "--storage-conf",
                      std::string(kJailConfDir) + "/storage.conf",
                      "--private-storage-conf",
                      std::string(kJailConfDir) + "/storage-private.conf",
                      "--log",
                      xdg + "/podman/service.log",
                      "--"};
}

} // namespace

std::vector<Combinator> container_combinators() {
    return {{"containers", "",
             "Off by default. A container engine in the cell: rootless podman (installed on the "
             "host) with its Docker API service started before the command and answering when "
             "it starts (DOCKER_HOST=unix:///run/user/UID/podman/podman.sock), images kept in "
             "--container-store (shared by the user's cells), pulls through the cell's proxy "
             "and policy. Adds read-only /sys, writable /proc/sys/net (podman's own network "
             "namespaces only), /dev/net/tun, tmpfs /run and /var/tmp, and "
             "/etc/containers. Containers get no more than the cell: see docs/containers.md.",
             0, 0, apply_containers}};
}

} // namespace cellgen
