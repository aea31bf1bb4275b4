// A TCP listener the launcher makes inside the jail's network namespace and
// hands to a host daemon (the proxy) as fd kJailListenFd. The daemon then
// serves the jail directly: no helper runs in the jail, no socket file is
// bound into it, and nothing in the jail can close or take over the port,
// since the socket belongs to a process outside.
#pragma once

#include <cstddef>
#include <string>

namespace cellgen {

struct JailListen {
    // An IPv4 literal: 127.0.0.1, or an address the launcher first gives
    // the jail's lo (as a /32), as it does any outside 127.0.0.0/8.
    std::string address;
    int port = 0;
    bool operator==(const JailListen&) const = default;
};

// Where containers started in the cell (--containers) reach the cell's
// proxy, whatever their network: slirp4netns maps it to the cell's
// 127.0.0.1 for a bridged container, and the launcher puts it on the cell's
// lo for one on the cell's own network.
inline constexpr const char* kContainerGateway = "10.0.2.2";

// The fd a daemon finds its first jail listener on (after --ready-fd 3 and
// --lifeline-fd 4); its argv says `--listen fd:5`.
inline constexpr int kJailListenFd = 5;

// The fd a daemon finds its access log on, opened by the launcher in the log
// dir (never through a link: the jail may write that dir); its argv says
// `--log fd:6`.
inline constexpr int kAccessLogFd = 6;

// The fd a daemon finds its refusal log on (the proxy's `--refusal-log fd:7`):
// LOGDIR/refusals.jsonl, emptied as each cell starts, read in the cell at
// $CELL_REFUSALS.
inline constexpr int kRefusalLogFd = 7;

// The fd of a daemon's i-th jail listener: 5 for the first, then 8, 9, ...
// (after the logs), e.g. the proxy's `--socks-listen fd:8`.
inline constexpr int jail_listen_fd(std::size_t i) {
    return i == 0 ? kJailListenFd : kRefusalLogFd + static_cast<int>(i);
}

} // namespace cellgen
