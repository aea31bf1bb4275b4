// Jail-side filesystem shapes: tmpfs, symlink, dir, and the start directory.
#include "cellgen/combinators/combinators.hpp"

namespace cellgen {

namespace {

void apply_tmpfs(Jail& jail, const Invocation& inv, const Context& ctx) {
    jail.tmpfs(jail_path_arg(inv, inv.args.at(0)), ctx.settings.tmpfs_size);
}

void apply_symlink(Jail& jail, const Invocation& inv, const Context&) {
    if (inv.args.at(0).empty()) {
        fail(inv, "empty symlink target");
    }
    jail.mount("--symlink", {inv.args[0], jail_path_arg(inv, inv.args.at(1))});
}

void apply_dir(Jail& jail, const Invocation& inv, const Context&) {
    jail.mount("--dir", {jail_path_arg(inv, inv.args.at(0))});
}

void apply_chdir(Jail& jail, const Invocation& inv, const Context&) {
    jail.chdir = jail_path_arg(inv, inv.args.at(0));
}

} // namespace

std::vector<Combinator> fs_combinators() {
    return {
        {"tmpfs", "DEST", "Mount a fresh tmpfs at jail DEST (capped by --tmpfs-size).", 1, 1,
         apply_tmpfs},
        {"symlink", "TARGET DEST", "Create a symlink at jail DEST pointing to TARGET.", 2, 2,
         apply_symlink},
        {"dir", "DEST", "Create an empty directory at jail DEST.", 1, 1, apply_dir},
        {"chdir", "DIR", "Start the command in jail DIR (last one wins).", 1, 1, apply_chdir},
    };
}

} // namespace cellgen
