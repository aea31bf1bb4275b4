// Cell-level settings: options that are not combinators but parameterise them
// (identity, nix mode, proxy filter, helper binaries). They are collected from
// the profile and the flags before any combinator runs, so a flag's position
// relative to the combinators does not matter.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cellgen {

// `--forward PORT=HOST:PORT`: 127.0.0.1:PORT in the cell reaches HOST:PORT.
struct PortForward {
    int port = 0;      // inside the cell
    std::string to;    // HOST:PORT, host normalised ([v6] bracketed)
    std::string where; // the flag or FILE:LINE, for errors
    bool operator==(const PortForward&) const = default;
};

struct ProxySettings {
    std::optional<std::string> filter; // absolute host path
    std::optional<std::string> filter_type;
    std::vector<std::string> allow;
    std::vector<std::string> deny;
    std::vector<std::string> allow_cidr;
    std::vector<int> connect_ports;
    int port = 3128;       // inside the jail
    int socks_port = 1080; // SOCKS5 inside the jail; 0: none
    std::vector<PortForward> forwards;
    // The filter file's lint ("FILE:LINE: warning: ..."), found when it was
    // checked; said on stderr as the cell starts.
    std::vector<std::string> filter_warnings;
};

// What one cell may take of the host (docs/security.md, "Limits").
inline constexpr unsigned long long kDefaultTmpfsSize = 2ULL << 30; // bytes
inline constexpr long kDefaultMaxProcs = 4096;

struct Settings {
    int uid = 1000;
    int gid = 1000;
    unsigned long long tmpfs_size = kDefaultTmpfsSize; // each tmpfs in the jail; 0: no cap
    long max_procs = kDefaultMaxProcs;                 // RLIMIT_NPROC on bwrap, pids.max; 0: no cap
    unsigned long long memory_max = 0;                 // the cell's cgroup; 0: none
    std::string nix_mode = "auto";                     // auto | on | off
    std::string nix_socket_dir = "/nix/var/nix/daemon-socket";
    ProxySettings proxy;
    std::optional<std::string> relay_bin; // overrides from --relay-bin etc.
    std::optional<std::string> proxy_bin;
    std::optional<std::string> bwrap_bin;
    std::optional<std::string> launch_bin;
    std::optional<std::string> connect_bin; // ssh's ProxyCommand in the cell (cell-connect)
    std::optional<std::string> engine_bin;  // --containers' start in the cell (cell-engine)
    // --containers: the host dir of the user's image store (default
    // $XDG_CACHE_HOME or ~/.cache, then unsafe-cell/containers) and the
    // registries the engine may reach over plain HTTP.
    std::optional<std::string> container_store;
    std::vector<std::string> insecure_registries;
    // --image-cache: the host dir of the user's blob cache (default
    // $XDG_CACHE_HOME or ~/.cache, then unsafe-cell/images), its size cap,
    // the registries it keeps, and a CA the proxy trusts for reaching them.
    std::optional<std::string> image_cache_dir;
    unsigned long long image_cache_size = 20ULL << 30;
    std::vector<std::string> cache_registries;
    std::optional<std::string> upstream_ca;
};

// Reads the caller's environment (fwd-env); injectable so tests need no setenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

EnvLookup process_env();

// Applies one `name = value` setting; `where` names the flag or file:line for errors.
// Returns false when `name` is not a setting.
bool apply_setting(Settings& settings, const std::string& name, const std::string& value,
                   const std::string& where);
// Compiles the --filter file (if any) with the proxy's own loader and
// --filter-type, after every setting is applied (the type may come later).
// `where` names the flag or FILE:LINE that set --filter; errors add the
// filter file's FILE:LINE. Its lint goes to settings.filter_warnings.
void check_filter_file(ProxySettings& settings, const std::string& where);

// Every port the cell serves inside (--proxy-port, --socks-port, each
// --forward) is distinct; a clash is a UsageError naming both.
void check_cell_ports(const ProxySettings& settings);

bool is_setting(const std::string& name);

} // namespace cellgen
