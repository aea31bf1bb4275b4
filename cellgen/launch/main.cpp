// cell-launch: executes one cell for the launcher script (cellgen/launcher.sh)
// once the plan's runtime dir is made; see launcher.hpp and docs/cell.md.
#include "error.hpp"
#include "fd.hpp"
#include "launcher.hpp"
#include "options.hpp"
#include "runtime_dir.hpp"

#include "signals.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <unistd.h>

int main(int argc, char** argv) {
    launch::block_signals_at_start();
    // bwrap hands every inherited fd to the jail: one the caller left open
    // on a host directory would be a way out. Keep only stdio.
    if (!launch::close_fds_except({0, 1, 2})) {
        std::fprintf(stderr, "cell: cannot close the fds inherited from the caller: %s\n",
                     std::strerror(errno));
        return 70;
    }
    launch::Options opts;
    try {
        opts = launch::parse_options(argc, argv);
    } catch (const launch::UsageError& e) {
        std::fprintf(stderr, "cell-launch: %s\n", e.what());
        // The script made the runtime dir and handed it over with its exec.
        for (int i = 1; i + 1 < argc; ++i) {
            if (std::strcmp(argv[i], "--runtime-dir") == 0) {
                launch::remove_tree(argv[i + 1]);
            }
        }
        return 2;
    }
    auto runtime_dir = opts.runtime_dir;
    try {
        launch::Launcher launcher(std::move(opts));
        return launcher.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cell: %s\n", e.what());
        launch::remove_tree(runtime_dir);
        return 70;
    }
}
