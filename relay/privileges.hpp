// Giving up root once the listening socket exists. The nix daemon trusts a
// client by the uid it sees on the socket (SO_PEERCRED, taken at connect):
// a relay started by root would hand every cell root's trust (it could set
// post-build-hook, which the daemon runs as root). With --drop-root the
// relay binds as its caller, then connects as nobody.
//
// Nobody must still reach a unix target. Two things keep that working without
// loosening the host's permissions: the relay changes into the target's
// directory while still root (so the directories above it, such as a 0700
// temporary dir, are never searched again), and it keeps the target
// directory's and socket's groups when they are not root's (Debian's
// /nix/var/nix/daemon-socket is 0770 root:nix-users).
#pragma once

#include "net/endpoint.hpp"
#include "net/failure.hpp"

#include <boost/system/result.hpp>

#include <sys/types.h>

namespace relay {

// The uid and gid a root relay switches to: nobody/nogroup on Debian, NixOS
// and most other systems. Numeric, so a static binary needs no NSS.
inline constexpr uid_t unprivileged_uid = 65534;
inline constexpr gid_t unprivileged_gid = 65534;

// When running as root (real or effective uid 0): keeps the way to `connect`
// (see above), drops supplementary groups, then gid and uid to the
// unprivileged ones, checks it cannot get back and that `connect` is still
// reachable. Returns the endpoint to connect to from now on (a unix path
// relative to the new working directory); `connect` unchanged when not root.
boost::system::result<Endpoint, Failure> drop_root(Endpoint connect);

} // namespace relay
