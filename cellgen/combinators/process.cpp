// Namespaces and process options: what base locks down, these loosen.
#include "cellgen/combinators/combinators.hpp"

#include "cellgen/validate.hpp"

#include <array>
#include <utility>

namespace cellgen {

namespace {

constexpr std::array<std::pair<const char*, Namespace>, 6> kNamespaces{{
    {"user", Namespace::user},
    {"ipc", Namespace::ipc},
    {"pid", Namespace::pid},
    {"net", Namespace::net},
    {"uts", Namespace::uts},
    {"cgroup", Namespace::cgroup},
}};

void apply_share_ns(Jail& jail, const Invocation& inv, const Context&) {
    for (const auto& [name, ns] : kNamespaces) {
        if (inv.args.at(0) == name) {
            jail.unshared.erase(ns);
            return;
        }
    }
    fail(inv, "unknown namespace '" + inv.args[0] + "' (net, pid, user, ipc, uts, cgroup)");
}

void apply_no_new_session(Jail& jail, const Invocation&, const Context&) {
    jail.new_session = false;
}

void apply_no_die_with_parent(Jail& jail, const Invocation&, const Context&) {
    jail.die_with_parent = false;
}

void apply_set_hostname(Jail& jail, const Invocation& inv, const Context&) {
    const auto& name = inv.args.at(0);
    if (name.empty() || name.size() > 64 ||
        name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
            std::string::npos) {
        fail(inv, "'" + name + "' is not a host name (letters, digits, '-', '.'; at most 64)");
    }
    jail.hostname = name;
}

void apply_time_zone(Jail& jail, const Invocation& inv, const Context&) {
    if (auto why = check_time_zone(inv.args.at(0)); !why.empty()) {
        fail(inv, "'" + inv.args[0] + "': " + why);
    }
    jail.set_env("TZ", inv.args[0]);
}

} // namespace

std::vector<Combinator> process_combinators() {
    return {
        {"share-ns", "NAME",
         "Keep the host's NAME namespace (net, pid, user, ipc, uts, cgroup) instead of a new one. "
         "Sharing user drops --uid/--gid; sharing uts drops the hostname.",
         1, 1, apply_share_ns},
        {"no-new-session", "",
         "Do not start a new session (lets the program use the terminal's job control; allows "
         "TIOCSTI on old kernels).",
         0, 0, apply_no_new_session},
        {"no-die-with-parent", "", "Do not kill the jail when its parent dies.", 0, 0,
         apply_no_die_with_parent},
        {"set-hostname", "NAME", "The jail's host name (default `cell`).", 1, 1,
         apply_set_hostname},
        {"time-zone", "ZONE", "Set TZ=ZONE (a tz database name like Europe/Paris).", 1, 1,
         apply_time_zone},
    };
}

} // namespace cellgen
