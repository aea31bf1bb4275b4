// Parsing happens in one pass over the flags, in order: settings are gathered
// first (profile, then flags), then combinator invocations are listed
// (profile, then flags). Iterating `parsed.options` keeps repeated options in
// the order they were given.
#include "cellgen/options.hpp"

#include "cellgen/profile.hpp"
#include "cellgen/usage_error.hpp"

#include <boost/program_options/parsers.hpp>
#include <boost/program_options/value_semantic.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

namespace cellgen {

namespace po = boost::program_options;

namespace {

struct SettingDoc {
    const char* name;
    const char* arg;
    const char* help;
};

constexpr SettingDoc kSettings[] = {
    {"uid", "N", "uid of user `cell` inside the jail (default 1000)"},
    {"gid", "N", "gid of group `cell` inside the jail (default 1000)"},
    {"tmpfs-size", "SIZE",
     "cap of each tmpfs in the jail (/tmp, /home/cell, --tmpfs), e.g. 512M (default 2G; 0: the "
     "kernel's, half of RAM)"},
    {"max-procs", "N",
     "cap on processes and threads of the cell's user (RLIMIT_NPROC; default 4096; 0: none; "
     "the kernel does not apply it to root: there the cell's cgroup caps them, where one can be "
     "made)"},
    {"memory-max", "SIZE",
     "cap on the memory of everything in the cell, e.g. 8G, in a cgroup of its own (made where "
     "the host lets us: root, or a delegated cgroup; `cell doctor` says); default 0: none"},
    {"nix", "auto|on|off",
     "host nix daemon: auto = when its socket exists (default), on = required, off = never"},
    {"nix-daemon-socket", "DIR",
     "directory holding the host daemon's `socket` (default /nix/var/nix/daemon-socket)"},
    {"filter", "FILE", "proxy: tinyproxy-style filter file (allowlist, one pattern a line)"},
    {"filter-type", "bre|ere|fnmatch", "proxy: pattern flavour of --filter (default bre)"},
    {"allow", "PATTERN",
     "proxy: allow a domain pattern; HOST:PORT opens that port for it alone (repeatable)"},
    {"deny", "PATTERN", "proxy: deny a domain pattern (repeatable)"},
    {"allow-cidr", "CIDR", "proxy: allow connecting to addresses in CIDR (repeatable)"},
    {"connect-port", "N", "proxy: allow CONNECT to port N too, beside 80 and 443 (repeatable)"},
    {"proxy-port", "N", "proxy port inside the jail (default 3128)"},
    {"socks-port", "N",
     "proxy: SOCKS5 port inside the jail (default 1080, 0 for none); ALL_PROXY points at it"},
    {"forward", "PORT=HOST:PORT",
     "proxy: 127.0.0.1:PORT inside the jail reaches exactly HOST:PORT (address policy "
     "applies: a loopback or private HOST needs --allow-cidr; repeatable)"},
    {"container-store", "DIR",
     "--containers: the host dir of the image store, kept across cells (default "
     "$XDG_CACHE_HOME/unsafe-cell/containers, else ~/.cache/unsafe-cell/containers; made 0700)"},
    {"insecure-registry", "HOST:PORT",
     "--containers: a registry the engine may reach over plain HTTP or with an unverified "
     "certificate (repeatable; it must still pass the proxy's policy)"},
    {"image-cache-dir", "DIR",
     "--image-cache: the host dir of the registry blob cache, shared by the user's cells "
     "(default $XDG_CACHE_HOME/unsafe-cell/images, else ~/.cache/unsafe-cell/images; made 0700)"},
    {"image-cache-size", "SIZE",
     "--image-cache: keep at most SIZE of blobs, least recently used evicted first (default 20G)"},
    {"cache-registry", "HOST[:PORT]",
     "--image-cache: a registry whose blobs are cached (port 443 if left out: TLS, "
     "intercepted with the user's cache CA; repeatable; it must still pass the policy)"},
    {"upstream-ca", "FILE",
     "--image-cache: also trust the CA certificates in FILE when the proxy reaches a cached "
     "registry over TLS"},
    {"relay-bin", "PATH",
     "relay binary (default: next to cellgen, ../libexec/unsafe-cell, build tree, PATH)"},
    {"proxy-bin", "PATH",
     "proxy binary (default: next to cellgen, ../libexec/unsafe-cell, build tree, PATH)"},
    {"bwrap-bin", "PATH", "bwrap binary (default: bwrap on PATH)"},
    {"launch-bin", "PATH",
     "cell-launch binary (default: next to cellgen, ../libexec/unsafe-cell, PATH)"},
};

void add_combinators(po::options_description& desc, const std::vector<Combinator>& table) {
    for (const auto& c : table) {
        desc.add_options()(c.name.c_str(),
                           po::value<std::vector<std::string>>()->multitoken()->zero_tokens(),
                           c.help.c_str());
    }
}

// Zero-argument combinators are written `name =` (or `name = true`) in a profile;
// the others split their value at whitespace, the last argument taking the rest.
std::vector<std::string> split_profile_value(const std::string& value, int max_args) {
    std::vector<std::string> out;
    if (max_args == 0) {
        if (!value.empty() && value != "true") {
            out.push_back(value);
        }
        return out;
    }
    std::size_t pos = 0;
    while (pos < value.size()) {
        auto start = value.find_first_not_of(" \t", pos);
        if (start == std::string::npos) {
            break;
        }
        if (max_args > 0 && static_cast<int>(out.size()) == max_args - 1) {
            out.push_back(value.substr(start));
            break;
        }
        auto end = value.find_first_of(" \t", start);
        out.push_back(value.substr(start, end == std::string::npos ? end : end - start));
        pos = end;
    }
    return out;
}

struct Collected {
    std::vector<std::pair<std::string, std::string>> settings; // name, value
    std::vector<std::string> setting_origins;
    std::vector<Invocation> invocations;
};

void collect_profile(Collected& out, const std::vector<ProfileEntry>& entries,
                     const std::vector<Combinator>& table) {
    for (const auto& e : entries) {
        if (is_setting(e.key)) {
            out.settings.emplace_back(e.key, e.value);
            out.setting_origins.push_back(fmt::format("{}: {}", e.origin, e.key));
            continue;
        }
        auto it = std::find_if(table.begin(), table.end(),
                               [&](const Combinator& c) { return c.name == e.key; });
        out.invocations.push_back({e.key, split_profile_value(e.value, it->max_args), e.origin});
    }
}

void collect_flag(Request& req, Collected& out, const po::option& opt) {
    const auto& key = opt.string_key;
    auto value = opt.value.empty() ? std::string() : opt.value.front();
    if (key == "help") {
        req.help = true;
    } else if (key == "version") {
        req.version = true;
    } else if (key == "print") {
        req.print = value;
    } else if (key == "null") {
        req.nul = true;
    } else if (key == "runtime-dir") {
        req.runtime_dir = value;
    } else if (key == "profile") {
        // read before the flags are collected; see parse_request
    } else if (is_setting(key)) {
        out.settings.emplace_back(key, value);
        out.setting_origins.push_back("--" + key);
    } else {
        out.invocations.push_back({key, opt.value, "--" + key});
    }
}

void check_request(const Request& req) {
    if (req.print != "argv" && req.print != "shell" && req.print != "json" && req.print != "plan" &&
        req.print != "script") {
        throw UsageError(
            fmt::format("--print '{}': must be argv, shell, json, plan or script", req.print));
    }
    if (req.nul && req.print != "argv") {
        throw UsageError("-0: only with --print argv");
    }
    if (req.runtime_dir && (req.print == "script" || req.print == "plan")) {
        throw UsageError(fmt::format("--runtime-dir: not with --print {} (its launcher makes "
                                     "the runtime dir)",
                                     req.print));
    }
    if (req.runtime_dir && (req.runtime_dir->empty() || req.runtime_dir->front() != '/')) {
        throw UsageError(fmt::format("--runtime-dir '{}': must be absolute", *req.runtime_dir));
    }
}

// Edit distance of two option names (insert, delete, replace: 1 each).
size_t distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// " (did you mean --NAME?)" for the closest known option, if one is close.
std::string nearest_hint(const std::string& unknown, const po::options_description& desc) {
    auto name = unknown;
    name.erase(0, name.find_first_not_of('-'));
    name = name.substr(0, name.find('='));
    std::string best;
    size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
    for (const auto& opt : desc.options()) {
        const auto& candidate = opt->long_name();
        if (auto d = distance(name, candidate); d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    return best.empty() ? std::string() : fmt::format(" (did you mean --{}?)", best);
}

po::parsed_options parse_flags(const std::vector<std::string>& flags,
                               const po::options_description& desc) {
    try {
        // No abbreviations: --allow must never be read as --allow-cidr.
        auto style =
            po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        return po::command_line_parser(flags).options(desc).style(style).run();
    } catch (const po::unknown_option& e) {
        throw UsageError(e.what() + nearest_hint(e.get_option_name(), desc));
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }
}

std::optional<std::string> profile_flag(const po::parsed_options& parsed) {
    std::optional<std::string> path;
    for (const auto& opt : parsed.options) {
        if (opt.string_key == "profile") {
            path = opt.value.empty() ? std::string() : opt.value.front();
        }
    }
    return path;
}

} // namespace

po::options_description profile_options(const std::vector<Combinator>& table) {
    po::options_description desc("Cell settings");
    for (const auto& s : kSettings) {
        desc.add_options()(s.name, po::value<std::string>()->value_name(s.arg), s.help);
    }
    add_combinators(desc, table);
    return desc;
}

po::options_description cli_options() {
    po::options_description desc("Output and control");
    desc.add_options()("help,h", "show this help and exit")("version", "print the version")(
        "profile", po::value<std::string>()->value_name("FILE"),
        "INI profile (same option names); replaces the embedded default profile")(
        "print", po::value<std::string>()->value_name("FORMAT"),
        "argv | shell | json | plan | script (default shell)")(
        "null,0", "with --print argv: separate arguments with NUL instead of newline")(
        "runtime-dir", po::value<std::string>()->value_name("DIR"),
        "spell runtime-dir paths under DIR instead of $CELL_RT");
    return desc;
}

Request parse_request(const std::vector<std::string>& args, const std::vector<Combinator>& table) {
    Request req;
    auto dashdash = std::find(args.begin(), args.end(), "--");
    std::vector<std::string> flags(args.begin(), dashdash);
    if (dashdash != args.end()) {
        req.command.assign(dashdash + 1, args.end());
    }
    auto in_profile = profile_options(table);
    po::options_description all;
    all.add(cli_options()).add(in_profile);
    auto parsed = parse_flags(flags, all);

    Collected collected;
    auto path = profile_flag(parsed);
    collect_profile(collected, path ? read_profile(*path, in_profile) : default_profile(in_profile),
                    table);
    for (const auto& opt : parsed.options) {
        collect_flag(req, collected, opt);
    }
    check_request(req);
    std::string filter_origin;
    for (std::size_t i = 0; i < collected.settings.size(); ++i) {
        const auto& [name, value] = collected.settings[i];
        apply_setting(req.settings, name, value, collected.setting_origins[i]);
        if (name == "filter") {
            filter_origin = collected.setting_origins[i];
        }
    }
    check_filter_file(req.settings.proxy, filter_origin);
    check_cell_ports(req.settings.proxy);
    req.invocations = std::move(collected.invocations);
    return req;
}

} // namespace cellgen
