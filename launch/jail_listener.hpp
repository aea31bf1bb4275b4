// jail_listener: a TCP listening socket that lives in the jail's network
// namespace but belongs to the launcher, which hands it to a host daemon
// (the proxy, `--listen fd:5`). The jail's programs connect to it on
// 127.0.0.1 as to any local server; the daemon accepts in its own (host)
// namespace and connects out from there. No helper runs in the jail, and no
// program in it can close the port or bind its own server there: the socket
// is held by processes outside the jail's reach.
//
// bwrap makes the namespace (--unshare-net) and reports its first process
// on --info-fd; that process then waits at the gate (--seccomp FD, see
// launcher.hpp) until the launcher has every daemon ready, so the socket
// exists before the command runs. A
// short-lived task of the launcher's, sharing its memory and fd table,
// enters the namespace (first the user namespace that owns it, which the
// caller's uid owns) to make the socket; the launcher itself never changes
// namespace.
#pragma once

#include "cellgen/jail_listen.hpp"
#include "launch/fd.hpp"

#include <vector>

#include <sys/types.h>

namespace launch {

// A listener on each address:port of `where`, in that order, inside the
// network namespace of `sandbox`, bwrap's child, which must be the child of
// a child of `keeper`: a pid that was reused by the time we look is
// refused, never joined. The namespace is entered once for all of them.
// Throws SetupError naming the listener and the step that failed; none is
// left open then.
std::vector<Fd> listen_in_jail(pid_t sandbox, pid_t keeper,
                               const std::vector<cellgen::JailListen>& where);

} // namespace launch
