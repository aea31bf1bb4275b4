// The host's nix: its store read-only, and its daemon through a host relay.
// The daemon trusts the relay's uid (SO_PEERCRED), so the jail inherits the
// caller's nix trust: a seat belt, not a wall.
#include "cellgen/combinators/combinators.hpp"

#include "cellgen/validate.hpp"

namespace cellgen {

namespace {

void apply_nix_store(Jail& jail, const Invocation&, const Context&) {
    jail.mount("--ro-bind", {"/nix/store", "/nix/store"});
}

void apply_try_nix_store(Jail& jail, const Invocation&, const Context&) {
    jail.mount("--ro-bind-try", {"/nix/store", "/nix/store"});
}

void apply_nix_daemon(Jail& jail, const Invocation& inv, const Context& ctx) {
    const auto& mode = ctx.settings.nix_mode;
    if (mode == "off") {
        jail.nix_daemon.reset();
        return;
    }
    if (!ctx.settings.relay_bin) {
        fail(inv, "the relay binary was not found next to cellgen, in the build tree or on "
                  "PATH (use --relay-bin)");
    }
    std::string dir = inv.args.empty() || inv.args[0].empty() ? ctx.settings.nix_socket_dir
                                                              : absolute_host_path(inv.args[0]);
    jail.nix_daemon = NixDaemonSpec{dir, mode};
    jail.add_runtime_dir("nix");
    jail.mount("--ro-bind", {RuntimePath{"nix"}, kJailNixSocketDir});
    jail.set_env("NIX_REMOTE", "daemon");
    jail.set_env("NIX_CONFIG", "experimental-features = nix-command flakes\nsubstitute = true");
}

} // namespace

std::vector<Combinator> nix_combinators() {
    return {
        {"nix-store", "", "The host's /nix/store, read-only.", 0, 0, apply_nix_store},
        {"try-nix-store", "", "Like nix-store, skipped when the host has no /nix/store.", 0, 0,
         apply_try_nix_store},
        {"nix-daemon", "[SOCKET_DIR]",
         "Reach the host nix daemon whose socket is SOCKET_DIR/socket (default "
         "--nix-daemon-socket): a host relay serves it at /nix/var/nix/daemon-socket/socket in "
         "the jail; NIX_REMOTE=daemon; NIX_CONFIG enables nix-command, flakes and substitutes. "
         "--nix auto starts it only when the socket exists, on requires it, off drops it.",
         0, 1, apply_nix_daemon},
    };
}

} // namespace cellgen
