// Builds the combinator table from the groups (in --help order) and applies
// invocations to a Jail, checking each one's argument count first.
#include "cellgen/registry.hpp"

#include "cellgen/combinators/combinators.hpp"

#include <fmt/format.h>

namespace cellgen {

std::vector<Combinator> combinator_table() {
    std::vector<Combinator> table;
    for (auto group : {base_combinators, host_system_combinators, bind_combinators, fs_combinators,
                       env_combinators, process_combinators, nix_combinators, proxy_combinators,
                       ssh_agent_combinators, container_combinators, image_cache_combinators,
                       cell_dir_combinators, raw_combinators}) {
        auto part = group();
        table.insert(table.end(), part.begin(), part.end());
    }
    return table;
}

const Combinator* find_combinator(const std::vector<Combinator>& table, std::string_view name) {
    for (const auto& c : table) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

namespace {

void check_arity(const Combinator& c, const Invocation& inv) {
    int n = static_cast<int>(inv.args.size());
    if (n < c.min_args || (c.max_args >= 0 && n > c.max_args)) {
        fail(inv, c.signature.empty() ? std::string("takes no arguments")
                                      : fmt::format("expects {} (got {} argument{})", c.signature,
                                                    n, n == 1 ? "" : "s"));
    }
}

} // namespace

Jail compose(const std::vector<Invocation>& invocations, const std::vector<Combinator>& table,
             const Context& ctx) {
    Jail jail;
    for (std::size_t i = 0; i < invocations.size(); ++i) {
        const auto& inv = invocations[i];
        const Combinator* c = find_combinator(table, inv.name);
        if (c == nullptr) {
            fail(inv, "unknown combinator");
        }
        if (inv.name == "base" && i != 0) {
            fail(inv, "base must be the first combinator (the profile's, then the flags')");
        }
        check_arity(*c, inv);
        c->apply(jail, inv, ctx);
    }
    // Checked once all are applied: share-ns may come after proxy.
    if (jail.proxy && !jail.unshared.contains(Namespace::net)) {
        fail(Invocation{"proxy", {}, jail.proxy->origin},
             "needs the jail's own network namespace (base makes one; share-ns net, or a "
             "profile without base, keeps the host's: the jail would reach the network "
             "directly, and the proxy's port would be on the host's loopback)");
    }
    return jail;
}

} // namespace cellgen
