// The image cache's certificate authority: one per user, kept on the host,
// so the proxy can terminate TLS for the registries named with
// --cache-registry (and for those only). Its key stays in DIR/ca.key, mode
// 0600, and is never bound into a cell; cells get only the certificate, in a
// bundle next to the system's. Leaves are minted on demand, one per host,
// short-lived (7 days) so a leaked leaf key is worth little.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace proxy {

class MitmCa {
public:
    // Opens or creates the CA in DIR (created 0700 with parents): DIR/ca.key
    // (PEM, EC P-256, mode 0600) and DIR/ca.crt (self-signed, 10 years).
    // Proxies of one user may start at once: creation is serialised by
    // flock on DIR/ca.lock and published by rename, ca.crt last, so exactly
    // one CA results and every process loads it. Refuses a DIR or ca.key
    // that is not the euid's, or that group or others can get at. Throws
    // std::runtime_error naming the file and the OpenSSL or system error.
    explicit MitmCa(std::filesystem::path dir);
    ~MitmCa();
    MitmCa(const MitmCa&) = delete;
    MitmCa& operator=(const MitmCa&) = delete;

    // A TLS 1.2+ server context presenting a leaf for `host` (DNS or IP
    // SAN, serverAuth, EC P-256) signed by the CA; the chain is the leaf
    // alone, since the client trusts the CA itself. Cached per host and
    // re-minted when the leaf has less than a day left. Throws
    // std::runtime_error when `host` cannot be a certificate name.
    std::shared_ptr<boost::asio::ssl::context> server_context(const std::string& host);

    // The PEM of the leaf server_context(host) presents (minted if needed).
    std::string leaf_pem(const std::string& host);

    // DIR/ca.crt.
    const std::filesystem::path& cert_path() const { return cert_path_; }

    // Writes `out`: system_bundle's contents (none when it does not exist),
    // "\n", then the CA certificate; atomically (temp file and rename in
    // out's directory), mode 0644. Cells trust the result.
    void write_bundle(const std::filesystem::path& system_bundle,
                      const std::filesystem::path& out) const;

private:
    struct FreeKey {
        void operator()(EVP_PKEY* p) const;
    };
    struct FreeCert {
        void operator()(X509* p) const;
    };
    using Key = std::unique_ptr<EVP_PKEY, FreeKey>;
    using Cert = std::unique_ptr<X509, FreeCert>;

    struct Leaf {
        std::shared_ptr<boost::asio::ssl::context> context;
        std::string pem;
        std::time_t not_after = 0;
    };

    // The cached leaf for `host`, minted when absent or about to expire.
    const Leaf& leaf(const std::string& host);
    Leaf mint(const std::string& host) const;

    std::filesystem::path dir_;
    std::filesystem::path cert_path_;
    Key key_;
    Cert cert_;
    std::string cert_pem_; // ca.crt as loaded, for write_bundle
    // Hosts are the few registries allowlisted for caching, so the map
    // stays small. Unlocked: each MitmCa is used from one thread only (the
    // proxy's io_context), which is why it can be a plain member.
    std::mutex leaves_mutex_; // guards leaves_: every event loop mints and reads
    std::map<std::string, Leaf> leaves_;
};

} // namespace proxy
