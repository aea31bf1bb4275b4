// State shared by the server and every session: the options (kept for
// SIGHUP recompiles), the current policy (a snapshot per request, swapped
// whole on reload so open tunnels are untouched), the access log and the
// live-session count, and the image cache when there is one. Sessions hold it by shared_ptr: a
// session frame destroyed at io_context teardown must not outlive it. With
// several event loops (--threads) every loop's sessions share it: what
// changes after start-up (the policy, the count, the log, the CA's leaves)
// is atomic or locked.
#pragma once

#include "proxy/access_log.hpp"
#include "proxy/policy_load.hpp"
#include "proxy/proxy_cli.hpp"
#include "proxy/refusal_log.hpp"

#include "net/accept_failures.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace proxy {

// The current policy: a snapshot for each request, on any event loop, and a
// whole new one on SIGHUP. A plain lock rather than
// std::atomic<std::shared_ptr>, whose libstdc++ 12 lock ThreadSanitizer
// cannot see; uncontended, it costs a request next to nothing.
class PolicySlot {
public:
    std::shared_ptr<const CompiledPolicy> load() const {
        std::lock_guard lock(mutex_);
        return policy_;
    }
    void store(std::shared_ptr<const CompiledPolicy> policy) {
        std::lock_guard lock(mutex_);
        policy_.swap(policy); // the old one is released outside the lock
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const CompiledPolicy> policy_;
};

class ImageCache; // image_cache.hpp: only the files that use it pull in OpenSSL

struct ProxyContext {
    Options options;
    // Read (a snapshot) by sessions on every event loop, swapped by SIGHUP.
    PolicySlot policy;
    AccessLog log;
    RefusalLog refusals;
    std::shared_ptr<ImageCache> cache;  // --image-cache, else null
    std::atomic<std::size_t> active{0}; // sessions and bridges, on every loop
    // Per listening socket, in the servers' order: its failed accepts over
    // every loop, reported once a run.
    std::vector<relay::AcceptFailures> accept_failures;
};

} // namespace proxy
