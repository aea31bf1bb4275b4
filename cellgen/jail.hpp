// The Jail value that combinators transform. It holds decisions, not argv:
// the planner (plan.cpp) turns it into bwrap arguments and a process plan.
#pragma once

#include "cellgen/arg.hpp"
#include "cellgen/plan.hpp" // RequiredDir, ForwardedEnv, RuntimeFile: plan items

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cellgen {

enum class Namespace { user, ipc, pid, net, uts, cgroup };

// One bwrap setup operation, e.g. {"--ro-bind", {"/usr", "/usr"}}. Order is kept:
// later mounts shadow earlier ones.
struct MountOp {
    std::string flag;
    Args args;
    bool operator==(const MountOp&) const = default;
};

// A host daemon bridging the nix daemon socket into the jail.
struct NixDaemonSpec {
    std::string socket_dir; // host dir holding `socket`
    std::string mode;       // "on" or "auto"
};

struct ProxySpec {
    std::string origin; // the invocation's, for messages
};

// `image-cache`: what the proxy is started with (--image-cache DIR and its
// companions); the cell gets DIR/ca/bundle.crt as its CA bundle.
struct ImageCacheSpec {
    std::string dir;
    unsigned long long size = 0;
    std::vector<std::string> registries;
    std::optional<std::string> upstream_ca;
};

struct Jail {
    std::set<Namespace> unshared;
    bool new_session = false;
    bool die_with_parent = false;
    bool clear_env = false;
    bool readonly_root = false; // the jail's own / (a tmpfs made by bwrap)
    std::optional<int> uid;
    std::optional<int> gid;
    std::optional<std::string> hostname;
    std::vector<MountOp> mounts;
    std::vector<std::pair<std::string, std::string>> env; // ordered, names unique
    std::optional<std::string> chdir;
    std::vector<std::string> runtime_dirs; // relative to the runtime dir
    std::vector<RuntimeFile> runtime_files;
    // Host device nodes (e.g. /dev/null) a root launcher copies into the
    // runtime dir's dev/, bound over bwrap's --dev ones (see base.cpp).
    std::vector<std::string> private_devices;
    long max_procs = 0;                // RLIMIT_NPROC the launcher sets on bwrap; 0: none
    unsigned long long memory_max = 0; // the cell's cgroup memory cap; 0: none
    std::vector<RequiredDir> required_dirs;
    bool system_dirs_ok = false;             // --unsafe-allow-system-dir
    std::vector<ForwardedEnv> forwarded_env; // rendered after env: wins when set
    std::optional<NixDaemonSpec> nix_daemon;
    std::optional<std::string> ssh_agent_socket; // the caller's $SSH_AUTH_SOCK (ssh-agent)
    std::optional<ProxySpec> proxy;
    bool allow_all_domains = false;      // allow-all: the proxy admits every domain
    std::optional<Arg> log_dir;          // host side, bound at kJailLogDir
    std::optional<std::string> worktree; // host side, bound at kJailWorktree
    std::vector<std::string> masks;      // --mask globs, relative to the worktree
    std::vector<RawArg> raw_args;
    std::vector<std::string> jail_init; // Plan::jail_init
    bool containers = false;            // --containers: the proxy also serves kContainerGateway
    std::optional<ImageCacheSpec> image_cache;

    void mount(std::string flag, Args args) {
        mounts.push_back({std::move(flag), std::move(args)});
    }
    // A tmpfs at `dest`, capped at `size` bytes (0: the kernel's default).
    void tmpfs(const std::string& dest, unsigned long long size) {
        if (size > 0) {
            mount("--size", {std::to_string(size)});
        }
        mount("--tmpfs", {dest});
    }
    void set_env(const std::string& name, std::string value); // drops a forwarding of name
    void forward_env(ForwardedEnv fwd);                       // replaces one of the same name
    std::optional<std::string> env_value(const std::string& name) const;
    void add_runtime_dir(const std::string& rel);
    void add_runtime_file(std::string rel, std::string content);
};

inline constexpr const char* kJailHome = "/home/cell";
inline constexpr const char* kJailWorktree = "/home/cell/worktree";
inline constexpr const char* kJailLogDir = "/var/log/cell";
inline constexpr const char* kJailNixSocketDir = "/nix/var/nix/daemon-socket";
inline constexpr const char* kJailSshAgentDir = "/run/cell/ssh-agent";
// Debian's CA bundle path, which curl, git, OpenSSL, Go and podman read:
// with --image-cache the cell's copy also trusts the user's cache CA.
inline constexpr const char* kJailCaBundle = "/etc/ssl/certs/ca-certificates.crt";

} // namespace cellgen
