// What the image cache recognises in registry traffic (the OCI distribution
// API): a blob by digest, `/v2/<name>/blobs/sha256:<64 hex>`, the only
// thing it caches (content-addressed, so never stale, and checkable byte for
// byte); manifests, tags, uploads and anything else pass through untouched.
// And the registries a user names for caching: `--cache-registry HOST[:PORT]`.
#pragma once

#include "proxy/parsed.hpp"
#include "proxy/request_target.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace proxy {

// The hex digest of a blob GET/HEAD's origin-form target, or nullopt for any
// other path (uploads, manifests, a digest that is not sha256:<64 hex>, a
// percent-encoded or dot-segment path a server might read differently).
std::optional<std::string> blob_digest(std::string_view origin_form);

// HOST[:PORT], the port 443 when left out (a TLS registry); IPv6 as [ADDR]:PORT.
Parsed<Target> parse_cache_registry(std::string_view text);

} // namespace proxy
