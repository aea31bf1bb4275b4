// State shared by the server and every session: the options (kept for
// SIGHUP recompiles), the current policy (a snapshot per request, swapped
// whole on reload so open tunnels are untouched), the access log and the
// live-session count, and the image cache when there is one. Sessions hold it by shared_ptr: a
// session frame destroyed at io_context teardown must not outlive it.
#pragma once

#include "proxy/access_log.hpp"
#include "proxy/policy_load.hpp"
#include "proxy/proxy_cli.hpp"
#include "proxy/refusal_log.hpp"

#include <cstddef>
#include <memory>

namespace proxy {

class ImageCache; // image_cache.hpp: only the files that use it pull in OpenSSL

struct ProxyContext {
    Options options;
    std::shared_ptr<const CompiledPolicy> policy;
    AccessLog log;
    RefusalLog refusals;
    std::shared_ptr<ImageCache> cache; // --image-cache, else null
    std::size_t active = 0;
};

} // namespace proxy
