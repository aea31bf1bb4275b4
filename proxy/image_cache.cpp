// See image_cache.hpp.
#include "proxy/image_cache.hpp"

#include "proxy/tls_bridge.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace proxy {
namespace {

// What the cell would trust without the cache: SSL_CERT_FILE, else the
// first bundle of the usual layouts (Debian, Fedora, Alpine/BSD).
std::filesystem::path system_bundle() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("SSL_CERT_FILE"); env && *env)
        candidates.emplace_back(env);
    for (const char* p : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                          "/etc/ssl/cert.pem"})
        candidates.emplace_back(p);
    for (const auto& c : candidates) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(c, ec))
            return c;
    }
    fmt::print(stderr,
               "proxy: --image-cache: no system CA bundle found (tried {}): cells trust "
               "only the cache CA\n",
               fmt::join(candidates, ", "));
    return candidates.back();
}

// The cell binds its bundle before the proxy starts (bwrap makes the jail
// first, the proxy then listens in it), so the launcher makes an empty file
// and the proxy fills that very inode: a rename would leave the cell with
// the empty one. The cell's command starts only after the proxy is ready.
void copy_in_place(const std::filesystem::path& from, const std::string& to) {
    std::ifstream in(from, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof())
        throw std::runtime_error(fmt::format("{}: cannot read", from.string()));
    int fd = ::open(to.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error(
            fmt::format("--ca-bundle-out {}: cannot open: {}", to, std::strerror(errno)));
    std::size_t done = 0;
    while (done < bytes.size()) {
        auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = errno;
            ::close(fd);
            throw std::runtime_error(
                fmt::format("--ca-bundle-out {}: cannot write: {}", to, std::strerror(err)));
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

} // namespace

std::filesystem::path cell_ca_bundle(const std::filesystem::path& dir) {
    return dir / "ca" / "bundle.crt";
}

ImageCache::ImageCache(const ImageCacheOptions& o)
    : registries_(o.registries), blobs_(o.dir, o.size), ca_(std::filesystem::path(o.dir) / "ca"),
      upstream_tls_(make_client_context(o.upstream_ca)) {
    ca_.write_bundle(system_bundle(), cell_ca_bundle(o.dir));
    if (!o.ca_bundle_out.empty())
        copy_in_place(cell_ca_bundle(o.dir), o.ca_bundle_out);
}

bool ImageCache::caches(const Target& t) const {
    return std::any_of(registries_.begin(), registries_.end(), [&](const Target& r) {
        return r.host.name == t.host.name && r.port == t.port;
    });
}

} // namespace proxy
