// The two host directories of a cell: its worktree (the program writes it) and
// its log dir (the host writes it; the program only reads it).
#include "cellgen/combinators/combinators.hpp"
#include "cellgen/usage_error.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <variant>
#include <vector>

namespace cellgen {

namespace {

void apply_worktree(Jail& jail, const Invocation& inv, const Context&) {
    auto host = host_dir_arg(jail, inv, inv.args.at(0));
    jail.mount("--bind", {host, kJailWorktree});
    jail.chdir = kJailWorktree;
    jail.worktree = host;
}

// Relative to the worktree, matched by the launcher when the cell starts.
void apply_mask(Jail& jail, const Invocation& inv, const Context&) {
    const auto& glob = inv.args.at(0);
    if (glob.empty() || glob.front() == '/') {
        throw UsageError(fmt::format("{}: '{}' must be relative to the worktree (e.g. **/.env)",
                                     inv.origin, glob));
    }
    for (std::size_t at = 0; at <= glob.size();) {
        auto end = std::min(glob.find('/', at), glob.size());
        if (glob.compare(at, end - at, "..") == 0 && end - at == 2) {
            throw UsageError(fmt::format("{}: '{}' must not contain '..'", inv.origin, glob));
        }
        at = end + 1;
    }
    jail.masks.push_back(glob);
}

// Bound once by the planner, at the end, so the last log-dir wins cleanly.
void apply_log_dir(Jail& jail, const Invocation& inv, const Context&) {
    // An earlier log dir is replaced, so it need not exist.
    if (const auto* previous = jail.log_dir ? std::get_if<std::string>(&*jail.log_dir) : nullptr) {
        std::erase_if(jail.required_dirs,
                      [&](const RequiredDir& d) { return d.path == *previous; });
    }
    if (inv.args.empty() || inv.args[0].empty()) {
        jail.add_runtime_dir("log");
        jail.log_dir = RuntimePath{"log"};
    } else {
        jail.log_dir = host_dir_arg(jail, inv, inv.args[0]);
    }
}

void apply_allow_system_dir(Jail& jail, const Invocation&, const Context&) {
    jail.system_dirs_ok = true;
}

} // namespace

std::vector<Combinator> cell_dir_combinators() {
    return {
        {"worktree", "PATH",
         "Bind host directory PATH read-write at /home/cell/worktree and start there. Files "
         "the program creates belong to the caller on the host.",
         1, 1, apply_worktree},
        {"log-dir", "[PATH]",
         "Keep the cell's logs in host directory PATH: the proxy access log, daemon logs and "
         "launcher log, written by the host. The program reads them at /var/log/cell "
         "(read-only: it must not plant files the host then writes through). Without PATH: "
         "the runtime dir's own `log` folder (removed with the cell).",
         0, 1, apply_log_dir},
        {"mask", "GLOB",
         "Files of the worktree matching GLOB (relative to it: `*`, `?`, `[..]` within a "
         "name, `**/` for any depth, e.g. **/.env or **/*.pem) read as empty and cannot be "
         "written in the cell. Matched when the cell starts: a file created later is not "
         "masked. Repeatable.",
         1, 1, apply_mask},
        {"unsafe-allow-system-dir", "",
         "Let the worktree or log dir be / , a whole-system directory (/etc, /usr, /nix, "
         "/proc, /sys, /dev, /boot, /var, /home, /tmp, ...), $HOME or a parent of it. Without "
         "it such a path is refused (exit 2), so that `--worktree \"$UNSET/\"` cannot hand "
         "the cell the whole host read-write.",
         0, 0, apply_allow_system_dir},
    };
}

} // namespace cellgen
