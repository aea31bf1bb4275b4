// Giving up root once the listening socket exists. The nix daemon trusts a
// client by the uid it sees on the socket (SO_PEERCRED, taken at connect):
// a relay started by root would hand every cell root's trust (it could set
// post-build-hook, which the daemon runs as root). With --drop-root the
// relay binds as its caller, then connects as nobody.
#pragma once

#include "failure.hpp"

#include <boost/system/result.hpp>

#include <sys/types.h>

namespace relay {

// The uid and gid a root relay switches to: nobody/nogroup on Debian, NixOS
// and most other systems. Numeric, so a static binary needs no NSS.
inline constexpr uid_t unprivileged_uid = 65534;
inline constexpr gid_t unprivileged_gid = 65534;

// When running as root (real or effective uid 0): drops supplementary groups,
// then gid and uid to the unprivileged ones, and checks it cannot get back.
// Does nothing otherwise.
boost::system::result<void, Failure> drop_root();

} // namespace relay
