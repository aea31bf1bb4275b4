// Cell-level settings from flags and profiles. Scalars: the last one wins
// (flags come after the profile). Lists: appended in order.
#include "cellgen/settings.hpp"

#include "cellgen/usage_error.hpp"
#include "cellgen/validate.hpp"
#include "common/syntax.hpp"
#include "policy/domain_pattern.hpp"
#include "policy/filter.hpp"
#include "policy/public_suffix.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <map>
#include <unistd.h>

namespace cellgen {

namespace {

using Setter = void (*)(Settings&, const std::string& value, const std::string& where);

[[noreturn]] void bad(const std::string& where, const std::string& value, std::string_view why) {
    throw UsageError(fmt::format("{} '{}': {}", where, value, why));
}

int parse_id(const std::string& value, const std::string& where) {
    int id = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
    if (ec != std::errc{} || end != value.data() + value.size() || id < 0) {
        bad(where, value, "not a numeric id");
    }
    return id;
}

// A size in bytes: digits with an optional K, M or G (powers of 1024).
unsigned long long parse_size(const std::string& value, const std::string& where) {
    unsigned long long n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    std::string_view unit(end, static_cast<size_t>(value.data() + value.size() - end));
    int shift = unit.empty()                 ? 0
                : unit == "K" || unit == "k" ? 10
                : unit == "M" || unit == "m" ? 20
                : unit == "G" || unit == "g" ? 30
                                             : -1;
    if (ec != std::errc{} || end == value.data() || shift < 0 || n > (1ULL << 50) >> shift) {
        bad(where, value, "not a size (bytes, or a number with K, M or G; 0: no cap)");
    }
    return n << shift;
}

long parse_count(const std::string& value, const std::string& where) {
    long n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || end != value.data() + value.size() || n < 0 || n > 4194304) {
        bad(where, value, "not a count from 0 (no cap) to 4194304");
    }
    return n;
}

// The proxy's own grammars (common/syntax.hpp, proxy_core): a flag the
// proxy would refuse fails here, at plan time, before anything starts. Their
// errors quote the value already.
int parse_port(const std::string& value, const std::string& where) {
    auto port = common::parse_port(value);
    if (!port) {
        throw UsageError(fmt::format("{}: {}", where, port.error()));
    }
    return *port;
}

std::string domain_pattern(const std::string& value, const std::string& where) {
    if (value.empty()) {
        bad(where, value, "empty pattern");
    }
    // As the proxy does: the suffix list is read only for a wildcard.
    static const policy::PublicSuffixes none;
    const policy::PublicSuffixes* suffixes = &none;
    if (value.starts_with('*')) {
        static const auto list =
            policy::PublicSuffixes::load(std::string(policy::default_public_suffix_list));
        suffixes = &list;
    }
    if (auto p = policy::parse_domain_pattern(value, *suffixes); !p) {
        bad(where, value, p.error());
    }
    return value;
}

// A host path setting: absolute (relative ones from the cwd), never empty.
std::string host_path(const std::string& value, const std::string& where) {
    if (value.empty()) {
        bad(where, value, "empty path");
    }
    return absolute_host_path(value);
}

std::string readable_file(const std::string& value, const std::string& where) {
    auto path = host_path(value, where);
    if (::access(path.c_str(), R_OK) != 0) {
        bad(where, value, "cannot read this file");
    }
    return path;
}

std::string one_of(const std::string& value, const std::string& where,
                   std::initializer_list<std::string_view> allowed) {
    for (auto a : allowed) {
        if (value == a) {
            return value;
        }
    }
    bad(where, value, fmt::format("must be one of {}", fmt::join(allowed, ", ")));
}

// PORT=HOST:PORT, the host as the proxy normalises it (no legacy IPv4
// spellings, no userinfo), [v6] in brackets.
PortForward port_forward(const std::string& value, const std::string& where) {
    auto eq = value.find('=');
    if (eq == std::string::npos) {
        bad(where, value, "not PORT=HOST:PORT (e.g. 5432=db.internal:5432)");
    }
    PortForward f{parse_port(value.substr(0, eq), where), {}, where};
    std::string_view dest = std::string_view(value).substr(eq + 1);
    auto colon = dest.starts_with('[') ? dest.find("]:") + 1 : dest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        bad(where, value, "the destination is not HOST:PORT");
    }
    auto host_text = dest.substr(0, colon);
    if (host_text.starts_with('[') && host_text.ends_with(']')) {
        host_text = host_text.substr(1, host_text.size() - 2);
    }
    auto host = policy::normalize_host(host_text);
    if (!host) {
        bad(where, value, host.error());
    }
    int to_port = parse_port(std::string(dest.substr(colon + 1)), where);
    f.to = host->kind == policy::HostKind::ipv6 ? fmt::format("[{}]:{}", host->name, to_port)
                                                : fmt::format("{}:{}", host->name, to_port);
    return f;
}

// A registry the engine may reach over plain HTTP: HOST or HOST:PORT, as
// registries.conf names it (no scheme, no path).
std::string registry_name(const std::string& value, const std::string& where) {
    std::string_view v = value;
    auto colon = v.rfind(':');
    auto host_text = colon == std::string_view::npos ? v : v.substr(0, colon);
    auto host = policy::normalize_host(host_text);
    if (!host || host->kind == policy::HostKind::ipv6) {
        bad(where, value, "not HOST or HOST:PORT (e.g. registry.internal:5000)");
    }
    if (colon != std::string_view::npos) {
        parse_port(std::string(v.substr(colon + 1)), where);
    }
    return value;
}

const std::map<std::string, Setter, std::less<>>& setters() {
    static const std::map<std::string, Setter, std::less<>> table{
        {"uid",
         [](Settings& s, const std::string& v, const std::string& w) { s.uid = parse_id(v, w); }},
        {"gid",
         [](Settings& s, const std::string& v, const std::string& w) { s.gid = parse_id(v, w); }},
        {"tmpfs-size", [](Settings& s, const std::string& v,
                          const std::string& w) { s.tmpfs_size = parse_size(v, w); }},
        {"max-procs", [](Settings& s, const std::string& v,
                         const std::string& w) { s.max_procs = parse_count(v, w); }},
        {"memory-max", [](Settings& s, const std::string& v,
                          const std::string& w) { s.memory_max = parse_size(v, w); }},
        {"nix",
         [](Settings& s, const std::string& v, const std::string& w) {
             s.nix_mode = one_of(v, w, {"auto", "on", "off"});
         }},
        {"nix-daemon-socket", [](Settings& s, const std::string& v,
                                 const std::string& w) { s.nix_socket_dir = host_path(v, w); }},
        {"filter", [](Settings& s, const std::string& v,
                      const std::string& w) { s.proxy.filter = readable_file(v, w); }},
        {"filter-type",
         [](Settings& s, const std::string& v, const std::string& w) {
             s.proxy.filter_type = one_of(v, w, {"bre", "ere", "fnmatch"});
         }},
        {"allow", [](Settings& s, const std::string& v,
                     const std::string& w) { s.proxy.allow.push_back(domain_pattern(v, w)); }},
        {"deny", [](Settings& s, const std::string& v,
                    const std::string& w) { s.proxy.deny.push_back(domain_pattern(v, w)); }},
        {"allow-cidr",
         [](Settings& s, const std::string& v, const std::string& w) {
             if (auto c = common::parse_cidr(v); !c) {
                 throw UsageError(fmt::format("{}: {}", w, c.error()));
             }
             s.proxy.allow_cidr.push_back(v);
         }},
        {"connect-port",
         [](Settings& s, const std::string& v, const std::string& w) {
             s.proxy.connect_ports.push_back(parse_port(v, w));
         }},
        {"proxy-port", [](Settings& s, const std::string& v,
                          const std::string& w) { s.proxy.port = parse_port(v, w); }},
        {"socks-port",
         [](Settings& s, const std::string& v, const std::string& w) {
             s.proxy.socks_port = v == "0" ? 0 : parse_port(v, w);
         }},
        {"forward", [](Settings& s, const std::string& v,
                       const std::string& w) { s.proxy.forwards.push_back(port_forward(v, w)); }},
        {"container-store", [](Settings& s, const std::string& v,
                               const std::string& w) { s.container_store = host_path(v, w); }},
        {"insecure-registry",
         [](Settings& s, const std::string& v, const std::string& w) {
             s.insecure_registries.push_back(registry_name(v, w));
         }},
        {"image-cache-dir", [](Settings& s, const std::string& v,
                               const std::string& w) { s.image_cache_dir = host_path(v, w); }},
        {"image-cache-size",
         [](Settings& s, const std::string& v, const std::string& w) {
             s.image_cache_size = parse_size(v, w);
             if (s.image_cache_size == 0) {
                 bad(w, v, "the image cache needs room for at least one blob");
             }
         }},
        {"cache-registry",
         [](Settings& s, const std::string& v, const std::string& w) {
             s.cache_registries.push_back(registry_name(v, w));
         }},
        {"upstream-ca", [](Settings& s, const std::string& v,
                           const std::string& w) { s.upstream_ca = readable_file(v, w); }},
        {"relay-bin", [](Settings& s, const std::string& v,
                         const std::string& w) { s.relay_bin = host_path(v, w); }},
        {"proxy-bin", [](Settings& s, const std::string& v,
                         const std::string& w) { s.proxy_bin = host_path(v, w); }},
        {"bwrap-bin", [](Settings& s, const std::string& v,
                         const std::string& w) { s.bwrap_bin = host_path(v, w); }},
        {"launch-bin", [](Settings& s, const std::string& v,
                          const std::string& w) { s.launch_bin = host_path(v, w); }},
    };
    return table;
}

} // namespace

void check_filter_file(ProxySettings& settings, const std::string& where) {
    if (!settings.filter) {
        return;
    }
    policy::FilterOptions options;
    // --filter-type was checked when it was set (bre, ere or fnmatch).
    if (auto type = policy::parse_filter_type(settings.filter_type.value_or("bre")); type) {
        options.type = *type;
    }
    auto f = policy::Filter::load(*settings.filter, options);
    if (!f) {
        throw UsageError(fmt::format("{}: {}", where, f.error()));
    }
    settings.filter_warnings = f->warnings();
}

void check_cell_ports(const ProxySettings& settings) {
    std::map<int, std::string> taken{{settings.port, "--proxy-port"}};
    if (settings.socks_port != 0) {
        if (settings.socks_port == settings.port) {
            throw UsageError(fmt::format("--socks-port {}: the cell's proxy port (--proxy-port) "
                                         "is {} already; give one of them another port",
                                         settings.socks_port, settings.port));
        }
        taken.emplace(settings.socks_port, "--socks-port");
    }
    for (const auto& f : settings.forwards) {
        auto [at, fresh] = taken.emplace(f.port, f.where);
        if (!fresh) {
            throw UsageError(fmt::format("{} '{}={}': port {} inside the cell is taken by {}",
                                         f.where, f.port, f.to, f.port, at->second));
        }
    }
}

EnvLookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        // getenv reads the environment we were started with; nothing here writes it.
        if (const char* value = std::getenv(name.c_str())) { // NOLINT(concurrency-mt-unsafe)
            return std::string(value);
        }
        return std::nullopt;
    };
}

bool is_setting(const std::string& name) {
    return setters().contains(name);
}

bool apply_setting(Settings& settings, const std::string& name, const std::string& value,
                   const std::string& where) {
    auto it = setters().find(name);
    if (it == setters().end()) {
        return false;
    }
    it->second(settings, value, where);
    return true;
}

} // namespace cellgen
