// `ssh-agent`: the caller's ssh agent, usable in the jail. A host relay
// (the nix daemon's kind, but keeping the caller's uid, which the agent
// checks) serves $SSH_AUTH_SOCK at /run/cell/ssh-agent/socket and the jail
// gets SSH_AUTH_SOCK pointing there. The agent signs with every key it
// holds for whatever the cell asks while the cell runs (docs/security.md);
// the keys themselves never enter the cell.
#include "cellgen/combinators/combinators.hpp"

namespace cellgen {

namespace {

void apply_ssh_agent(Jail& jail, const Invocation& inv, const Context& ctx) {
    if (!ctx.settings.relay_bin) {
        fail(inv, "the relay binary was not found next to cellgen, in the build tree or on "
                  "PATH (use --relay-bin)");
    }
    auto sock = ctx.env("SSH_AUTH_SOCK");
    if (!sock || sock->empty() || sock->front() != '/') {
        fail(inv, "SSH_AUTH_SOCK is not set to an agent's socket: start one (eval "
                  "\"$(ssh-agent)\"; ssh-add) or drop --ssh-agent");
    }
    jail.ssh_agent_socket = *sock;
    jail.add_runtime_dir("ssh-agent");
    jail.mount("--ro-bind", {RuntimePath{"ssh-agent"}, std::string(kJailSshAgentDir)});
    jail.set_env("SSH_AUTH_SOCK", std::string(kJailSshAgentDir) + "/socket");
}

} // namespace

std::vector<Combinator> ssh_agent_combinators() {
    return {{"ssh-agent", "",
             "Off by default. The caller's ssh agent ($SSH_AUTH_SOCK when the plan is made) in "
             "the jail: a host relay serves it at /run/cell/ssh-agent/socket and SSH_AUTH_SOCK "
             "points there. The cell can then sign with every key the agent holds, for as "
             "long as it runs; the keys never enter it.",
             0, 0, apply_ssh_agent}};
}

} // namespace cellgen
