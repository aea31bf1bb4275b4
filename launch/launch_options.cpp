#include "launch/launch_options.hpp"

#include <boost/program_options.hpp>

namespace po = boost::program_options;

namespace launch {

Invocation parse_invocation(int argc, char** argv) {
    Invocation inv;
    po::options_description desc("cell-launch options");
    desc.add_options()("plan-fd", po::value(&inv.plan_fd)->required(),
                       "the fd to read the launch plan from (cellgen --print plan)")(
        "prepare-dir", po::value<std::string>(),
        "only fill DIR as the runtime dir and print bwrap's options")(
        "args", po::value(&inv.args), "arguments after the plan's command");
    po::positional_options_description pos;
    pos.add("args", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }
    if (inv.plan_fd < 0) {
        throw UsageError("--plan-fd: not an fd");
    }
    if (vm.count("prepare-dir")) {
        inv.prepare_dir = vm["prepare-dir"].as<std::string>();
        if (!inv.args.empty()) {
            throw UsageError("--prepare-dir takes no command arguments");
        }
    }
    return inv;
}

} // namespace launch
