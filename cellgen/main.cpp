// cellgen: combinators -> bwrap argv and process plan. See docs/cellgen.md.
#include "cli.hpp"
#include "helper_bins.hpp"
#include "launcher_text.hpp"

#include <cstdio>
#include <string>
#include <vector>

#ifndef CELLGEN_VERSION
#define CELLGEN_VERSION "unknown"
#endif

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    cellgen::CliEnvironment cli_env{cellgen::process_env(), cellgen::self_exe_dir(),
                                    cellgen::launcher_text(), CELLGEN_VERSION};
    auto result = cellgen::run_cli(args, cli_env);
    std::fwrite(result.err.data(), 1, result.err.size(), stderr);
    if (std::fwrite(result.out.data(), 1, result.out.size(), stdout) != result.out.size() ||
        std::fflush(stdout) != 0) {
        std::perror("cellgen: writing the output");
        return result.status == 0 ? 1 : result.status;
    }
    return result.status;
}
