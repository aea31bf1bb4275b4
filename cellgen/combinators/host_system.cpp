// `host-system`: the host's programs and the /etc files they need, read-only.
// The top-level /bin, /lib... are copied as the host has them: symlinks on a
// merged-/usr host, read-only binds otherwise; this is decided at render time.
#include "cellgen/combinators/combinators.hpp"

#include <filesystem>
#include <system_error>

namespace cellgen {

namespace {

constexpr const char* kTopDirs[] = {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"};

// Tolerant binds: a missing file on some distro must not break the cell.
// TLS trust only, never /etc/ssl/private or /etc/pki/tls/private: a cell
// started by root is root for file modes, and would read the host's keys.
constexpr const char* kEtcFiles[] = {
    "/etc/ld.so.cache",      "/etc/ld.so.conf",          "/etc/ld.so.conf.d",  "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",  "/etc/ca-certificates",     "/etc/pki/ca-trust",  "/etc/pki/tls/certs",
    "/etc/pki/tls/cert.pem", "/etc/pki/tls/openssl.cnf", "/etc/nsswitch.conf", "/etc/localtime",
    "/etc/alternatives",     "/etc/protocols",           "/etc/services",
};

void add_top_dir(Jail& jail, const std::filesystem::path& dir) {
    std::error_code ec;
    auto status = std::filesystem::symlink_status(dir, ec);
    if (ec || !std::filesystem::exists(status)) {
        return;
    }
    if (std::filesystem::is_symlink(status)) {
        jail.mount("--symlink", {std::filesystem::read_symlink(dir, ec).string(), dir.string()});
    } else {
        jail.mount("--ro-bind", {dir.string(), dir.string()});
    }
}

void apply_host_system(Jail& jail, const Invocation&, const Context&) {
    jail.mount("--ro-bind", {"/usr", "/usr"});
    for (const char* dir : kTopDirs) {
        add_top_dir(jail, dir);
    }
    for (const char* file : kEtcFiles) {
        jail.mount("--ro-bind-try", {file, file});
    }
}

} // namespace

std::vector<Combinator> host_system_combinators() {
    return {{"host-system", "",
             "The host's /usr read-only; /bin, /sbin, /lib, /lib32, /lib64, /libx32 as the host "
             "has them (symlinks on merged-/usr hosts, read-only binds otherwise); and, "
             "read-only when present, /etc/ld.so.cache, ld.so.conf(.d), ssl/certs, "
             "ssl/openssl.cnf, ca-certificates, pki/ca-trust, pki/tls/{certs,cert.pem,openssl.cnf} "
             "(never the private key dirs), nsswitch.conf, localtime, alternatives, protocols, "
             "services.",
             0, 0, apply_host_system}};
}

} // namespace cellgen
