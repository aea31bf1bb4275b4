// The image cache's state, one per proxy (`--image-cache DIR`): the blob
// store shared by all of a user's cells, the CA that lets the proxy
// terminate TLS for the registries named with --cache-registry (and for
// those only), and the trust store for reaching them. Sessions use it in
// cached_blob.cpp (blobs) and tunnel.cpp (interception).
#pragma once

#include "proxy/blob_store.hpp"
#include "proxy/mitm_ca.hpp"
#include "proxy/proxy_cli.hpp"
#include "proxy/request_target.hpp"

#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace proxy {

class ImageCache {
public:
    // Opens DIR (blobs in DIR/sha256, the CA in DIR/ca) and writes
    // DIR/ca/bundle.crt, the system bundle plus the CA, and its copy for a
    // cell (--ca-bundle-out). Throws std::runtime_error naming what failed.
    explicit ImageCache(const ImageCacheOptions& options);

    // The registry at host:port is one the user named for caching.
    bool caches(const Target& t) const;

    BlobStore& blobs() { return blobs_; }
    MitmCa& ca() { return ca_; }
    boost::asio::ssl::context& upstream_tls() { return *upstream_tls_; }

private:
    std::vector<Target> registries_;
    BlobStore blobs_;
    MitmCa ca_;
    std::unique_ptr<boost::asio::ssl::context> upstream_tls_;
};

// The bundle that trusts the cache CA, inside DIR (for clients on the
// host; a cell gets a copy in its runtime dir, never a file of DIR).
std::filesystem::path cell_ca_bundle(const std::filesystem::path& dir);

} // namespace proxy
