#include "launch/run_plan.hpp"

#include "launch/fd.hpp"
#include "launch/launcher.hpp"
#include "launch/prepare.hpp"
#include "launch/runtime_dir.hpp"
#include "launch/signals.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

namespace launch {

int run_plan(const cellgen::Plan& plan, const std::vector<std::string>& args) {
    // From here on a signal must not end us with the runtime dir left
    // behind: the Launcher takes INT, TERM and HUP through a signalfd.
    block_signals_at_start();
    // bwrap hands every inherited fd to the jail: one the caller left open
    // on a host directory would be a way out. Keep only stdio, each of them
    // open (a plan may have come on one; a caller may have closed one).
    if (!ensure_stdio() || !close_fds_except({0, 1, 2})) {
        std::fprintf(stderr, "cell: cannot close the fds inherited from the caller: %s\n",
                     std::strerror(errno));
        return 70;
    }
    Options opts;
    try {
        opts = prepare(plan, args, process_getenv);
    } catch (const PrepareError& e) {
        std::fprintf(stderr, "cell: %s\n", e.what());
        return e.status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cell: %s\n", e.what());
        return 70;
    }
    auto runtime_dir = opts.runtime_dir;
    try {
        Launcher launcher(std::move(opts));
        return launcher.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cell: %s\n", e.what());
        remove_tree(runtime_dir);
        return 70;
    }
}

} // namespace launch
