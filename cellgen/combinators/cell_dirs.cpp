// The two host directories a cell writes to: its worktree and its log dir.
#include "combinators.hpp"

namespace cellgen {

namespace {

void apply_worktree(Jail& jail, const Invocation& inv, const Context&) {
    jail.mount("--bind", {host_dir_arg(inv, inv.args.at(0)), kJailWorktree});
    jail.chdir = kJailWorktree;
}

// Bound once by the planner, at the end, so the last log-dir wins cleanly.
void apply_log_dir(Jail& jail, const Invocation& inv, const Context&) {
    if (inv.args.empty() || inv.args[0].empty()) {
        jail.add_runtime_dir("log");
        jail.log_dir = RuntimePath{"log"};
    } else {
        jail.log_dir = host_dir_arg(inv, inv.args[0]);
    }
}

} // namespace

std::vector<Combinator> cell_dir_combinators() {
    return {
        {"worktree", "PATH",
         "Bind host directory PATH read-write at /home/cell/worktree and start there. Files "
         "the program creates belong to the caller on the host.",
         1, 1, apply_worktree},
        {"log-dir", "[PATH]",
         "Bind host directory PATH read-write at /var/log/cell; the proxy access log, daemon "
         "logs and launcher log go there. Without PATH: the runtime dir's own `log` folder "
         "(removed with the cell).",
         0, 1, apply_log_dir},
    };
}

} // namespace cellgen
