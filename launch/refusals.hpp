// The one line a person or an agent needs to fix the allowlist: what the
// proxy refused during this cell (host:port and count), read from the proxy's
// JSON-lines access log starting at the size it had when the cell started
// (a kept log dir holds earlier cells' lines).
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

namespace launch {

// "the proxy refused: a.example:443 (3), b.example:80 (1) — ..." or nullopt
// when nothing was refused. Most refused first; ties in name order.
std::optional<std::string> refusal_summary(const std::string& access_log, off_t start);

// The log's current size (0 when it does not exist yet).
off_t log_size(const std::string& access_log);

} // namespace launch
