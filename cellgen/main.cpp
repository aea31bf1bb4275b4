// cellgen: combinators -> bwrap argv and process plan. See docs/cellgen.md.
#include "cellgen/cli.hpp"
#include "cellgen/helper_bins.hpp"

#include <cstdio>
#include <string>
#include <vector>

#ifndef CELLGEN_VERSION
#define CELLGEN_VERSION "unknown"
#endif

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    cellgen::CliEnvironment cli_env{cellgen::process_env(), cellgen::self_exe_dir(),
                                    CELLGEN_VERSION};
    return cellgen::emit(cellgen::run_cli(args, cli_env), "cellgen");
}
