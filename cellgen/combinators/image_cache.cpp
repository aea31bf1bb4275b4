// `image-cache`: registry blobs cached by the proxy, for all of a user's
// cells (proxy --image-cache, docs/containers.md "Image cache"). The cache
// directory stays on the host: only DIR/ca/bundle.crt (the system's CAs plus
// the user's cache CA, written by the proxy) is bound into the cell, over
// the CA bundle, so the engine and every TLS client in the cell accept the
// proxy's leaf for the registries it intercepts. The CA key never enters.
#include "cellgen/combinators/combinators.hpp"

namespace cellgen {

namespace {

void apply_image_cache(Jail& jail, const Invocation& inv, const Context& ctx) {
    if (!jail.proxy) {
        fail(inv, "needs the proxy (the cache lives in it): drop --no-proxy or add proxy "
                  "before it");
    }
    if (jail.image_cache) {
        fail(inv, "given twice");
    }
    if (ctx.settings.cache_registries.empty()) {
        fail(inv, "name the registries to cache with --cache-registry HOST[:PORT] (e.g. "
                  "registry-1.docker.io and its blob storage host's registry)");
    }
    auto dir =
        user_cache_dir(inv, ctx, ctx.settings.image_cache_dir, "--image-cache-dir", "images");
    jail.required_dirs.push_back({culprit(inv), dir, false, true});
    jail.image_cache = ImageCacheSpec{dir, ctx.settings.image_cache_size,
                                      ctx.settings.cache_registries, ctx.settings.upstream_ca};
    // Programs that bring their own bundle (nix-built ones, Python's
    // certifi through requests) are pointed at the cell's.
    for (const char* name : {"SSL_CERT_FILE", "NIX_SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"}) {
        jail.set_env(name, kJailCaBundle);
    }
}

} // namespace

std::vector<Combinator> image_cache_combinators() {
    return {{"image-cache", "",
             "Off by default. The proxy keeps registry blobs (GET/HEAD "
             "/v2/NAME/blobs/sha256:D) of the --cache-registry hosts in --image-cache-dir, "
             "shared by the user's cells: stored only when the bytes hash to D, served only "
             "while sealed as verified (a change to the file breaks the seal and it is "
             "hashed again), least recently used evicted past --image-cache-size. TLS "
             "registries are intercepted with a CA of the user's (key on the host only); the "
             "cell's CA bundle (/etc/ssl/certs/ca-certificates.crt, SSL_CERT_FILE) trusts it. "
             "The access log says hit, miss or stored per blob. See docs/containers.md.",
             0, 0, apply_image_cache}};
}

} // namespace cellgen
