#include "options.hpp"

#include <algorithm>
#include <boost/program_options.hpp>

namespace po = boost::program_options;

namespace launch {

Options parse_options(int argc, char** argv) {
    Options o;
    po::options_description desc("cell-launch options");
    desc.add_options()("runtime-dir", po::value(&o.runtime_dir)->required(),
                       "the cell's runtime dir")("log-dir", po::value(&o.log_dir)->required(),
                                                 "the cell's log dir")(
        "bwrap", po::value(&o.bwrap)->required(), "the bwrap binary")(
        "gate-option", po::value<std::string>(), "the in-jail gate option of COMMAND[0]")(
        "proxy-log", po::value<std::string>(), "the proxy's access log")(
        "private-device", po::value(&o.private_devices),
        "a device node root copies")("daemon", po::value(&o.daemons), "a host daemon to start")(
        "ready-timeout", po::value<int>()->default_value(10),
        "seconds each daemon has to be ready")("command", po::value(&o.command),
                                               "the jail's first process and its arguments");
    po::positional_options_description pos;
    pos.add("command", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }
    if (vm.count("gate-option")) {
        o.gate_option = vm["gate-option"].as<std::string>();
    }
    if (vm.count("proxy-log")) {
        o.proxy_log = vm["proxy-log"].as<std::string>();
    }
    if (o.command.empty()) {
        throw UsageError("no command given after --");
    }
    o.ready_timeout = std::chrono::seconds(std::max(vm["ready-timeout"].as<int>(), 1));
    return o;
}

} // namespace launch
