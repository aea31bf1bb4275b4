// What a person or an agent needs to fix the policy: what the proxy refused
// during this cell, read from the proxy's JSON-lines access log from the size
// it had when the cell started (a kept log dir holds earlier cells' lines).
// One line per kind of refusal, each with the one flag that would allow it:
//   the proxy refused: a.example:443 (3), b.example:80 (1) — allow a host with --allow HOST ...
//   the proxy refused private or loopback addresses: 10.0.0.5:80 (1) — ... --allow-cidr CIDR
//   the proxy refused CONNECT to ports it does not open: a.example:22 (2) — ... --allow H:P
//   the proxy refused by a --deny pattern: ...; malformed requests (N); TLS names that
//   differ from the CONNECT host; connections turned away at its connection limit.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace launch {

// The lines, most refused first within each (ties in name order); none
// when nothing was refused. `access_log` < 0: none.
std::vector<std::string> refusal_summary(int access_log, long start);

// The same for log text already read (for tests).
std::vector<std::string> summarize_refusals(std::string_view log);

} // namespace launch
