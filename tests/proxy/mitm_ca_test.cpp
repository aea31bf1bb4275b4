// The image cache's CA: its files and their modes, one CA however many
// proxies start at once, leaves that verify for their own host only, and a
// real handshake against a client that verifies like a cell's would.
#include "proxy/mitm_ca.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace proxy;
namespace fs = std::filesystem;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

struct TempDir {
    fs::path path;
    TempDir() {
        std::string t = (fs::temp_directory_path() / "mitm_ca_test.XXXXXX").string();
        REQUIRE(::mkdtemp(t.data()) != nullptr);
        path = t;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

X509Ptr parse(const std::string& pem) {
    std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    REQUIRE(cert);
    return cert;
}

// X509_verify_cert with ca.crt as the only anchor, for a TLS server named
// `host` (an IP literal when `ip`): what a client of the cache checks.
bool verifies(const fs::path& ca_crt, const std::string& leaf_pem, const std::string& host,
              bool ip = false) {
    X509Ptr ca = parse(read_text(ca_crt));
    X509Ptr leaf = parse(leaf_pem);
    StorePtr store(X509_STORE_new());
    REQUIRE(X509_STORE_add_cert(store.get(), ca.get()) == 1);
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) == 1);
    REQUIRE(X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER) == 1);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    if (ip)
        REQUIRE(X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1);
    else
        REQUIRE(X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1);
    bool ok = X509_verify_cert(ctx.get()) == 1;
    if (!ok)
        UNSCOPED_INFO(
            "verify " << host << ": "
                      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
    return ok;
}

// Seconds from now to `t` (negative when past).
long seconds_from_now(const ASN1_TIME* t) {
    int days = 0;
    int secs = 0;
    REQUIRE(ASN1_TIME_diff(&days, &secs, nullptr, t) == 1);
    return days * 86400L + secs;
}

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir))
        names.insert(e.path().filename().string());
    return names;
}

} // namespace

TEST_CASE("the CA is created private and loaded again unchanged", "[mitm_ca]") {
    TempDir tmp;
    fs::path dir = tmp.path / "cache" / "ca";
    mode_t old_umask = ::umask(0); // the modes must not depend on it
    std::string first;
    {
        MitmCa ca(dir);
        CHECK(ca.cert_path() == dir / "ca.crt");
        first = read_text(ca.cert_path());
    }
    ::umask(old_umask);
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(tmp.path / "cache") == 0700);
    CHECK(mode_of(dir / "ca.key") == 0600);
    CHECK(mode_of(dir / "ca.crt") == 0644);
    CHECK(names_in(dir) == std::set<std::string>{"ca.crt", "ca.key", "ca.lock"});
    CHECK(read_text(dir / "ca.key").starts_with("-----BEGIN PRIVATE KEY-----"));

    MitmCa again(dir);
    CHECK(read_text(dir / "ca.crt") == first);

    X509Ptr cert = parse(first);
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
    CHECK(std::string(cn).starts_with("unsafe-cell image cache CA ("));
    CHECK(X509_check_ca(cert.get()) == 1);
    CHECK(X509_get_pathlen(cert.get()) == 0);
    CHECK(X509_get_key_usage(cert.get()) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    CHECK(X509_get0_subject_key_id(cert.get()) != nullptr);
    CHECK(X509_check_issued(cert.get(), cert.get()) == X509_V_OK);
    long ten_years = 3650L * 86400;
    CHECK(seconds_from_now(X509_get0_notAfter(cert.get())) > ten_years);
    CHECK(seconds_from_now(X509_get0_notAfter(cert.get())) < ten_years + 5 * 86400);
    // The leaf minted by the second instance is signed by the first's CA.
    CHECK(verifies(dir / "ca.crt", again.leaf_pem("registry.example"), "registry.example"));
}

TEST_CASE("proxies starting at once make exactly one CA", "[mitm_ca]") {
    TempDir tmp;
    fs::path dir = tmp.path / "ca";
    int go[2];
    REQUIRE(::pipe(go) == 0);
    std::vector<pid_t> children;
    for (int i = 0; i < 4; ++i) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(go[1]);
            char c;
            (void)!::read(go[0], &c, 1); // EOF when the parent lets all go at once
            try {
                MitmCa ca(dir);
                std::ofstream(tmp.path / ("leaf" + std::to_string(i) + ".pem"))
                    << ca.leaf_pem("registry.example");
                std::_Exit(0);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "child %d: %s\n", i, e.what());
                std::_Exit(1);
            }
        }
        children.push_back(pid);
    }
    ::close(go[0]);
    ::close(go[1]);
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    // One CA, no temporaries left, and every child signed with it.
    CHECK(names_in(dir) == std::set<std::string>{"ca.crt", "ca.key", "ca.lock"});
    parse(read_text(dir / "ca.crt"));
    for (int i = 0; i < 4; ++i)
        CHECK(verifies(dir / "ca.crt", read_text(tmp.path / ("leaf" + std::to_string(i) + ".pem")),
                       "registry.example"));
}

TEST_CASE("a CA key others can read is refused", "[mitm_ca]") {
    TempDir tmp;
    fs::path dir = tmp.path / "ca";
    { MitmCa ca(dir); }
    REQUIRE(::chmod((dir / "ca.key").c_str(), 0644) == 0);
    REQUIRE_THROWS_WITH(MitmCa(dir), Catch::Contains("ca.key") && Catch::Contains("0644"));
    REQUIRE(::chmod((dir / "ca.key").c_str(), 0600) == 0);
    REQUIRE_NOTHROW(MitmCa(dir));
}

TEST_CASE("a CA directory others can write is refused", "[mitm_ca]") {
    TempDir tmp;
    fs::path dir = tmp.path / "ca";
    { MitmCa ca(dir); }
    REQUIRE(::chmod(dir.c_str(), 0777) == 0);
    REQUIRE_THROWS_WITH(MitmCa(dir), Catch::Contains(dir.string()));
}

TEST_CASE("a leaf verifies for its own host and no other", "[mitm_ca]") {
    TempDir tmp;
    MitmCa ca(tmp.path / "ca");
    std::string pem = ca.leaf_pem("registry.example");
    CHECK(verifies(ca.cert_path(), pem, "registry.example"));
    CHECK_FALSE(verifies(ca.cert_path(), pem, "other.example"));
    CHECK(ca.leaf_pem("registry.example") == pem); // cached, not minted again

    X509Ptr leaf = parse(pem);
    X509Ptr root = parse(read_text(ca.cert_path()));
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(leaf.get()), NID_commonName, cn, sizeof cn);
    CHECK(std::string(cn) == "registry.example");
    CHECK(X509_check_ca(leaf.get()) == 0);
    CHECK((X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER) != 0);
    const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf.get());
    REQUIRE(aki != nullptr);
    CHECK(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(root.get())) == 0);
    std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> serial(
        ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf.get()), nullptr));
    CHECK(BN_num_bits(serial.get()) == 128);
    CHECK(std::abs(seconds_from_now(X509_get0_notBefore(leaf.get())) + 3600) < 60);
    CHECK(std::abs(seconds_from_now(X509_get0_notAfter(leaf.get())) - 7 * 86400) < 60);
    EVP_PKEY* pub = X509_get0_pubkey(leaf.get());
    CHECK(EVP_PKEY_is_a(pub, "EC"));
    char group[64] = {};
    CHECK(EVP_PKEY_get_group_name(pub, group, sizeof group, nullptr) == 1);
    CHECK(std::string(group) == "prime256v1");
    // Two leaves never share a serial.
    CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(leaf.get()),
                           X509_get0_serialNumber(parse(ca.leaf_pem("b.example")).get())) != 0);
}

TEST_CASE("a leaf for an IP literal has an IP SAN", "[mitm_ca]") {
    TempDir tmp;
    MitmCa ca(tmp.path / "ca");
    for (std::string ip : {"127.0.0.1", "::1"}) {
        CAPTURE(ip);
        std::string pem = ca.leaf_pem(ip);
        NamesPtr names(static_cast<GENERAL_NAMES*>(
            X509_get_ext_d2i(parse(pem).get(), NID_subject_alt_name, nullptr, nullptr)));
        REQUIRE(names);
        REQUIRE(sk_GENERAL_NAME_num(names.get()) == 1);
        CHECK(sk_GENERAL_NAME_value(names.get(), 0)->type == GEN_IPADD);
        CHECK(verifies(ca.cert_path(), pem, ip, true));
        CHECK_FALSE(verifies(ca.cert_path(), pem, "127.0.0.2", true));
    }
}

TEST_CASE("a host that is no DNS name gets no leaf", "[mitm_ca]") {
    TempDir tmp;
    MitmCa ca(tmp.path / "ca");
    for (std::string host : {"", "a.example,DNS:b.example", "a b", "*.example", "fe80::1%eth0"}) {
        CAPTURE(host);
        CHECK_THROWS(ca.server_context(host));
    }
}

TEST_CASE("server_context is cached per host", "[mitm_ca]") {
    TempDir tmp;
    MitmCa ca(tmp.path / "ca");
    auto a = ca.server_context("registry.example");
    CHECK(a == ca.server_context("registry.example"));
    CHECK(a != ca.server_context("other.example"));
    CHECK(SSL_CTX_get_min_proto_version(a->native_handle()) == TLS1_2_VERSION);
}

namespace {

struct Handshake {
    bool done = false;
    std::string server_got;
    std::string client_got;
    std::string version;
    std::string client_error;
};

// Server and client in one io_context on loopback; the client trusts
// ca.crt only and checks the certificate is for `verify_host`.
Handshake handshake(MitmCa& ca, const std::string& verify_host) {
    Handshake h;
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto server_tls = ca.server_context("registry.example");
    asio::ssl::context client_tls(asio::ssl::context::tls_client);
    client_tls.load_verify_file(ca.cert_path().string());
    int finished = 0;

    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            asio::ssl::stream<tcp::socket> s(co_await acceptor.async_accept(asio::use_awaitable),
                                             *server_tls);
            co_await s.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
            std::string buf(5, '\0');
            co_await asio::async_read(s, asio::buffer(buf), asio::use_awaitable);
            h.server_got = buf;
            co_await asio::async_write(s, asio::buffer(std::string_view("pong")),
                                       asio::use_awaitable);
        },
        [&](std::exception_ptr) { ++finished; });

    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            asio::ssl::stream<tcp::socket> s(io, client_tls);
            SSL_set_tlsext_host_name(s.native_handle(), verify_host.c_str());
            s.set_verify_mode(asio::ssl::verify_peer);
            s.set_verify_callback(asio::ssl::host_name_verification(verify_host));
            co_await s.next_layer().async_connect(acceptor.local_endpoint(), asio::use_awaitable);
            co_await s.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
            h.version = SSL_get_version(s.native_handle());
            co_await asio::async_write(s, asio::buffer(std::string_view("ping!")),
                                       asio::use_awaitable);
            std::string buf(4, '\0');
            co_await asio::async_read(s, asio::buffer(buf), asio::use_awaitable);
            h.client_got = buf;
        },
        [&](std::exception_ptr e) {
            ++finished;
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    h.client_error = x.what();
                }
            }
        });

    io.run_for(std::chrono::seconds(2));
    h.done = finished == 2;
    return h;
}

} // namespace

TEST_CASE("a verifying client completes a handshake with a leaf", "[mitm_ca]") {
    TempDir tmp;
    MitmCa ca(tmp.path / "ca");
    auto start = std::chrono::steady_clock::now();
    Handshake ok = handshake(ca, "registry.example");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    REQUIRE(ok.done);
    CHECK(ok.client_error.empty());
    CHECK(ok.server_got == "ping!");
    CHECK(ok.client_got == "pong");
    CHECK((ok.version == "TLSv1.3" || ok.version == "TLSv1.2"));

    Handshake wrong = handshake(ca, "other.example");
    REQUIRE(wrong.done);
    CHECK_THAT(wrong.client_error, Catch::Contains("certificate verify failed"));
    CHECK(wrong.server_got.empty());
}

TEST_CASE("write_bundle appends the CA to the system bundle", "[mitm_ca]") {
    TempDir tmp;
    MitmCa ca(tmp.path / "ca");
    std::string ca_pem = read_text(ca.cert_path());
    fs::path system = tmp.path / "system.crt";
    std::ofstream(system) << "SYSTEM CERTS";
    fs::path out = tmp.path / "bundle.crt";

    mode_t old_umask = ::umask(077); // the mode must not depend on it
    ca.write_bundle(system, out);
    CHECK(read_text(out) == "SYSTEM CERTS\n" + ca_pem);
    CHECK(mode_of(out) == 0644);

    // Replaced in place, and an absent system bundle is only the CA.
    ca.write_bundle(tmp.path / "absent.crt", out);
    ::umask(old_umask);
    CHECK(read_text(out) == ca_pem);
    CHECK(mode_of(out) == 0644);
    CHECK(names_in(tmp.path) == std::set<std::string>{"ca", "system.crt", "bundle.crt"});
}
