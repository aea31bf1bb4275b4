// cell-launch: executes one cell for the launcher script (cellgen/launcher.sh)
// once the plan's runtime dir is made; see launcher.hpp and docs/cell.md.
#include "error.hpp"
#include "launcher.hpp"
#include "options.hpp"
#include "runtime_dir.hpp"

#include <cstdio>
#include <unistd.h>

int main(int argc, char** argv) {
    // bwrap hands every inherited fd to the jail: one the caller left open
    // on a host directory would be a way out. Keep only stdio.
    ::close_range(3, ~0U, 0);
    launch::Options opts;
    try {
        opts = launch::parse_options(argc, argv);
    } catch (const launch::UsageError& e) {
        std::fprintf(stderr, "cell-launch: %s\n", e.what());
        return 2;
    }
    auto runtime_dir = opts.runtime_dir;
    try {
        launch::Launcher launcher(std::move(opts));
        return launcher.run();
    } catch (const launch::SetupError& e) {
        std::fprintf(stderr, "cell: %s\n", e.what());
        launch::remove_tree(runtime_dir);
        return 70;
    }
}
