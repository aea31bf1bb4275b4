// See mitm_ca.hpp.
#include "proxy/mitm_ca.hpp"
#include "proxy/private_dir.hpp"

#include "common/fd.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace proxy {

namespace {

namespace fs = std::filesystem;
namespace ssl = boost::asio::ssl;

constexpr std::time_t day = 24 * 60 * 60;
// Backdated so a cell whose clock runs a little behind still accepts it.
constexpr long backdate_seconds = 60 * 60;
constexpr long ca_days = 3653; // ten years, leap days included
constexpr long leaf_days = 7;
// A cached leaf is replaced this long before it expires, so no handshake
// ever presents one that is about to run out.
constexpr std::time_t leaf_renew_before = day;
// RFC 5280's upper bound for a commonName; longer names go in the SAN only.
constexpr std::size_t max_common_name = 64;

template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

using common::Fd;

// OpenSSL queues errors per thread; drain the queue so the message says
// what actually failed and nothing stale is blamed on the next call.
std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty())
            out += "; ";
        out += buf;
    }
    return out.empty() ? std::string("unknown OpenSSL error") : out;
}

[[noreturn]] void fail(const fs::path& path, std::string_view what) {
    throw std::runtime_error(path.string() + ": " + std::string(what));
}

[[noreturn]] void fail_errno(const fs::path& path, std::string_view what, int err) {
    fail(path, std::string(what) + ": " + std::strerror(err));
}

[[noreturn]] void fail_openssl(const fs::path& path, std::string_view what) {
    fail(path, std::string(what) + ": " + openssl_errors());
}

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

// Whoever can write DIR can swap the CA's files, so DIR must be the euid's
// and closed to group and others' writes.
void check_dir(const fs::path& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        fail_errno(dir, "cannot stat", errno);
    if (!S_ISDIR(st.st_mode))
        fail(dir, "is not a directory");
    if (st.st_uid != ::geteuid())
        fail(dir, "is owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                      std::to_string(::geteuid()) + ")");
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        fail(dir, "is writable by group or others (mode " + octal_mode(st.st_mode) +
                      "); the CA's files could be replaced");
}

// The whole file, or nothing when it does not exist.
std::optional<std::string> read_file(const fs::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT)
            return std::nullopt;
        fail_errno(path, "cannot open", errno);
    }
    std::string data;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail_errno(path, "cannot read", errno);
        if (n == 0)
            return data;
        data.append(buf, static_cast<std::size_t>(n));
    }
}

void fsync_dir(const fs::path& dir) {
    // Durability only: the rename is already atomic, so a directory that
    // cannot be synced is no reason to fail.
    Fd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() >= 0)
        ::fsync(fd.get());
}

// Writes `data` to a fresh file beside `dest` with exactly `mode`, then
// renames it over `dest`: readers see the old file or the whole new one.
// The temporary is born 0600 (mkostemp), so a key is never more exposed
// than it ends up.
void write_atomically(const fs::path& dest, std::string_view data, mode_t mode) {
    std::string tmp = dest.string() + ".XXXXXX";
    Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (fd.get() < 0)
        fail_errno(tmp, "cannot create a temporary file", errno);
    struct Unlink {
        const std::string& path;
        bool armed = true;
        ~Unlink() {
            if (armed)
                ::unlink(path.c_str());
        }
    } cleanup{tmp};
    if (::fchmod(fd.get(), mode) != 0)
        fail_errno(tmp, "cannot chmod " + octal_mode(mode), errno);
    while (!data.empty()) {
        ssize_t n = ::write(fd.get(), data.data(), data.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail_errno(tmp, "cannot write", errno);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::fsync(fd.get()) != 0)
        fail_errno(tmp, "cannot sync", errno);
    if (fd.close() != 0)
        fail_errno(tmp, "cannot close", errno);
    if (::rename(tmp.c_str(), dest.c_str()) != 0)
        fail_errno(dest, "cannot rename " + tmp + " to it", errno);
    cleanup.armed = false;
    fsync_dir(dest.parent_path());
}

// Left behind by a creator that died between mkostemp and rename. Only
// called under the lock, when no other creator can be mid-write.
void remove_stale_temporaries(const fs::path& dir) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        for (std::string_view prefix : {"ca.key.", "ca.crt."}) {
            if (name.size() == prefix.size() + 6 && name.starts_with(prefix))
                ::unlink(entry.path().c_str());
        }
    }
}

// An encrypted ca.key is not ours; never let OpenSSL prompt on a terminal.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

PKey p256_key(const fs::path& context) {
    PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key)
        fail_openssl(context, "cannot generate an EC P-256 key");
    return key;
}

std::string user_name() {
    uid_t uid = ::geteuid();
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(size > 0 ? static_cast<std::size_t>(size) : 16384);
    struct passwd pw {};
    struct passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
        found->pw_name != nullptr && found->pw_name[0] != '\0')
        return found->pw_name;
    return std::to_string(uid);
}

std::string ca_common_name() {
    std::string cn = "unsafe-cell image cache CA (" + user_name() + ")";
    if (cn.size() > max_common_name)
        cn = "unsafe-cell image cache CA (" + std::to_string(::geteuid()) + ")";
    return cn;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value, const fs::path& context) {
    X509V3_CTX v3{};
    X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
    Extension ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
        fail_openssl(context, std::string("cannot add ") + OBJ_nid2sn(nid) + " " + value);
}

// A v3 certificate for `key` with a random 128-bit serial (top bit set, so
// always exactly 128 bits) and validity from an hour ago to `days` ahead.
// `cn` empty leaves the subject empty.
X509Ptr new_cert(EVP_PKEY* key, const std::string& cn, long days, std::time_t now,
                 const fs::path& context) {
    X509Ptr cert(X509_new());
    if (!cert)
        fail_openssl(context, "cannot allocate a certificate");
    Bignum serial(BN_new());
    Name subject(X509_NAME_new());
    bool ok = serial && subject && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
              BN_rand(serial.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
              BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr &&
              X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -backdate_seconds, &now) &&
              X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &now) &&
              X509_set_pubkey(cert.get(), key) == 1;
    if (ok && !cn.empty())
        ok = X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                        0) == 1;
    ok = ok && X509_set_subject_name(cert.get(), subject.get()) == 1;
    if (!ok)
        fail_openssl(context, "cannot fill in a certificate");
    return cert;
}

void sign(X509* cert, EVP_PKEY* key, const fs::path& context) {
    if (X509_sign(cert, key, EVP_sha256()) <= 0)
        fail_openssl(context, "cannot sign a certificate");
}

std::string cert_pem(X509* cert, const fs::path& context) {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
        fail_openssl(context, "cannot encode a certificate");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

// Creates ca.key and ca.crt. ca.crt is renamed into place last: it is the
// mark that the CA exists, so a creator that dies before it leaves only a
// stale ca.key, which the next creator replaces.
void create_ca(const fs::path& dir, const fs::path& key_path, const fs::path& cert_path) {
    remove_stale_temporaries(dir);
    PKey key = p256_key(key_path);
    std::time_t now = std::time(nullptr);
    X509Ptr cert = new_cert(key.get(), ca_common_name(), ca_days, now, cert_path);
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1)
        fail_openssl(cert_path, "cannot set the issuer");
    add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0", cert_path);
    add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign", cert_path);
    add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash", cert_path);
    sign(cert.get(), key.get(), cert_path);

    // Secure memory BIO: the PEM key is wiped when the BIO is freed.
    Bio key_pem(BIO_new(BIO_s_secmem()));
    if (!key_pem || PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                             nullptr) != 1)
        fail_openssl(key_path, "cannot encode the private key");
    char* data = nullptr;
    long len = BIO_get_mem_data(key_pem.get(), &data);
    write_atomically(key_path, std::string_view(data, static_cast<std::size_t>(len)), 0600);
    write_atomically(cert_path, cert_pem(cert.get(), cert_path), 0644);
}

PKey load_key(const fs::path& path) {
    // O_NOFOLLOW and fstat on the open file: what is checked is what is read.
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0)
        fail_errno(path, "cannot open the CA key", errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        fail_errno(path, "cannot stat", errno);
    if (!S_ISREG(st.st_mode))
        fail(path, "is not a regular file");
    if (st.st_uid != ::geteuid())
        fail(path, "is owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                       std::to_string(::geteuid()) + "); refusing to use it as the CA key");
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        fail(path, "is open to group or others (mode " + octal_mode(st.st_mode) +
                       "); a CA key must be mode 0600");
    Bio bio(BIO_new_fd(fd.get(), BIO_NOCLOSE));
    if (!bio)
        fail_openssl(path, "cannot read the CA key");
    PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key)
        fail_openssl(path, "cannot parse the CA key");
    return key;
}

X509Ptr parse_cert(const std::string& pem, const fs::path& path) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509Ptr cert;
    if (bio)
        cert.reset(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (!cert)
        fail_openssl(path, "cannot parse the CA certificate");
    return cert;
}

// Lower-cased, and restricted to what a DNS name or IP literal may contain,
// which also keeps X509V3_EXT_conf_nid's separators (',' and ':' in names)
// out of the subjectAltName value. `is_ip` says which SAN type fits.
std::string certificate_host(const std::string& host, bool& is_ip, const fs::path& context) {
    unsigned char addr[16];
    is_ip = ::inet_pton(AF_INET, host.c_str(), addr) == 1 ||
            ::inet_pton(AF_INET6, host.c_str(), addr) == 1;
    if (is_ip)
        return host;
    std::string name = host;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    bool ok =
        !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                   c == '_';
        });
    if (!ok)
        fail(context, "cannot mint a certificate for host \"" + host + "\": not a DNS name");
    return name;
}

} // namespace

void MitmCa::FreeKey::operator()(EVP_PKEY* p) const {
    EVP_PKEY_free(p);
}
void MitmCa::FreeCert::operator()(X509* p) const {
    X509_free(p);
}

MitmCa::MitmCa(std::filesystem::path dir) : dir_(std::move(dir)), cert_path_(dir_ / "ca.crt") {
    ERR_clear_error();
    make_private_dirs(dir_);
    check_dir(dir_);
    fs::path key_path = dir_ / "ca.key";
    fs::path lock_path = dir_ / "ca.lock";

    // Held until the CA is loaded: a second proxy starting now waits here,
    // then finds ca.crt and loads the same CA instead of making its own.
    Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (lock.get() < 0)
        fail_errno(lock_path, "cannot open", errno);
    while (::flock(lock.get(), LOCK_EX) != 0) {
        if (errno != EINTR)
            fail_errno(lock_path, "cannot lock", errno);
    }

    std::optional<std::string> pem = read_file(cert_path_);
    if (!pem) {
        create_ca(dir_, key_path, cert_path_);
        pem = read_file(cert_path_);
        if (!pem)
            fail(cert_path_, "vanished right after it was created");
    }
    key_ = Key(load_key(key_path).release());
    cert_ = Cert(parse_cert(*pem, cert_path_).release());
    if (X509_check_private_key(cert_.get(), key_.get()) != 1)
        fail_openssl(cert_path_, "does not match " + key_path.string());
    // Leaves signed by an expired CA fail in every client, with an error
    // that never mentions the cache; say it here instead.
    if (X509_cmp_current_time(X509_get0_notAfter(cert_.get())) <= 0)
        fail(cert_path_, "has expired; remove it and " + key_path.string() +
                             " to make a new CA (cells need the new bundle)");
    cert_pem_ = std::move(*pem);
}

MitmCa::~MitmCa() = default;

MitmCa::Leaf MitmCa::mint(const std::string& host) const {
    ERR_clear_error();
    bool is_ip = false;
    std::string name = certificate_host(host, is_ip, dir_);
    fs::path context = dir_ / ("leaf for " + name);

    PKey key = p256_key(context);
    std::time_t now = std::time(nullptr);
    // A name too long for a commonName goes in the SAN only, which RFC 5280
    // then wants critical, the subject being empty.
    bool with_cn = name.size() <= max_common_name;
    X509Ptr cert = new_cert(key.get(), with_cn ? name : std::string(), leaf_days, now, context);
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) != 1)
        fail_openssl(context, "cannot set the issuer");
    add_ext(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE", context);
    add_ext(cert.get(), cert_.get(), NID_key_usage, "critical,digitalSignature", context);
    add_ext(cert.get(), cert_.get(), NID_ext_key_usage, "serverAuth", context);
    add_ext(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always", context);
    add_ext(cert.get(), cert_.get(), NID_subject_alt_name,
            std::string(with_cn ? "" : "critical,") + (is_ip ? "IP:" : "DNS:") + name, context);
    sign(cert.get(), key_.get(), context);

    auto tls = std::make_shared<ssl::context>(ssl::context::tls_server);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    SSL_CTX* native = tls->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(native, cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1)
        fail_openssl(context, "cannot set up the TLS context");

    return Leaf{std::move(tls), cert_pem(cert.get(), context), now + leaf_days * day};
}

// Under the lock: sessions on every event loop (--threads) share the CA.
const MitmCa::Leaf& MitmCa::leaf(const std::string& host) {
    auto it = leaves_.find(host);
    if (it == leaves_.end() || it->second.not_after - std::time(nullptr) < leaf_renew_before) {
        // Sessions still holding the old context keep it alive (shared_ptr).
        Leaf fresh = mint(host);
        it = leaves_.insert_or_assign(host, std::move(fresh)).first;
    }
    return it->second;
}

std::shared_ptr<boost::asio::ssl::context> MitmCa::server_context(const std::string& host) {
    std::lock_guard lock(leaves_mutex_);
    return leaf(host).context;
}

std::string MitmCa::leaf_pem(const std::string& host) {
    std::lock_guard lock(leaves_mutex_);
    return leaf(host).pem;
}

void MitmCa::write_bundle(const std::filesystem::path& system_bundle,
                          const std::filesystem::path& out) const {
    std::string data;
    if (auto system = read_file(system_bundle)) {
        data = std::move(*system);
        data += "\n";
    }
    data += cert_pem_;
    write_atomically(out, data, 0644);
}

} // namespace proxy
