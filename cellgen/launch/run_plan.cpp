#include "run_plan.hpp"

#include "launcher.hpp"
#include "prepare.hpp"
#include "runtime_dir.hpp"

#include <cstdio>
#include <exception>

namespace launch {

int run_plan(const cellgen::LaunchPlan& plan, const std::vector<std::string>& args) {
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
