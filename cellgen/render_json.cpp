// `--print json`: the whole plan as one JSON object (version 2). Runtime paths
// are spelled under --runtime-dir, or under the text "$CELL_RT". The
// display-only fields (each daemon's ready socket, the log files) are derived
// here from the plan, as the launcher derives them when it runs it.
#include "cellgen/render.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace cellgen {

namespace {

namespace json = boost::json;

json::array strings(const Args& args, const RuntimeDir& rt) {
    json::array out;
    for (const auto& a : args) {
        out.emplace_back(arg_text(a, rt));
    }
    return out;
}

json::array strings(const std::vector<std::string>& words) {
    json::array out;
    for (const auto& w : words) {
        out.emplace_back(w);
    }
    return out;
}

json::array required_dirs(const Plan& plan) {
    json::array out;
    for (const auto& d : plan.required_dirs) {
        out.push_back(json::object{{"what", d.what}, {"path", d.path}});
    }
    return out;
}

json::object runtime_dir(const Plan& plan, const RenderOptions& opts) {
    json::array files;
    for (const auto& f : plan.runtime_files) {
        files.push_back(json::object{{"path", f.rel}, {"content", f.content}});
    }
    return {{"path", opts.runtime_dir.value_or("$CELL_RT")},
            {"placeholder", !opts.runtime_dir},
            {"dirs", strings(plan.runtime_dirs)},
            {"files", std::move(files)},
            {"private_devices", strings(plan.private_devices)},
            {"required_dirs", required_dirs(plan)}};
}

// The socket file a daemon listens on once ready: a daemon without a jail
// listener serves its first `unix:` runtime path (the nix relay's
// $CELL_RT/nix/socket).
std::optional<Arg> ready_socket(const Daemon& d) {
    if (!d.jail_listen.empty()) {
        return std::nullopt;
    }
    for (const auto& a : d.argv) {
        const auto* rt = std::get_if<RuntimePath>(&a);
        if (rt != nullptr && rt->text_before == "unix:") {
            return RuntimePath{rt->rel};
        }
    }
    return std::nullopt;
}

Arg log_file(const Arg& dir, const std::string& name) {
    if (const auto* rt = std::get_if<RuntimePath>(&dir)) {
        return RuntimePath{rt->rel + "/" + name};
    }
    return std::get<std::string>(dir) + "/" + name;
}

json::array daemons(const Plan& plan, const RuntimeDir& rt) {
    json::array out;
    for (const auto& d : plan.daemons) {
        json::object o{{"name", d.name}, {"argv", strings(d.argv, rt)}, {"mode", d.mode}};
        auto socket = ready_socket(d);
        o["ready_socket"] = socket ? json::value(arg_text(*socket, rt)) : json::value(nullptr);
        json::array listens;
        for (const auto& l : d.jail_listen) {
            listens.push_back(json::value(fmt::format("{}:{}", l.address, l.port)));
        }
        o["jail_listen"] = std::move(listens);
        o["needs"] = d.needs ? json::value(*d.needs) : json::value(nullptr);
        out.push_back(std::move(o));
    }
    return out;
}

json::object logs(const Plan& plan, const RuntimeDir& rt) {
    // The launcher's log, then each daemon's stderr (NAME.log) and access log.
    json::object files;
    if (plan.log_dir) {
        auto file = [&](const std::string& name) {
            return json::value(arg_text(log_file(*plan.log_dir, name), rt));
        };
        files["launcher"] = file("launcher.log");
        for (const auto& d : plan.daemons) {
            files[d.name] = file(d.name + ".log");
            if (d.access_log) {
                files[d.name + "-access"] = file(*d.access_log);
            }
        }
    }
    json::object o;
    o["dir"] = plan.log_dir ? json::value(arg_text(*plan.log_dir, rt)) : json::value(nullptr);
    o["files"] = std::move(files);
    return o;
}

} // namespace

std::string render_json(const Plan& plan, const RenderOptions& opts) {
    RuntimeDir rt{opts.runtime_dir.value_or("$CELL_RT")};
    json::object env;
    for (const auto& [name, value] : plan.env) {
        env[name] = value;
    }
    json::object root{
        {"version", 2},
        {"cellgen", opts.version},
        {"bwrap", json::object{{"path", plan.bwrap},
                               {"args", strings(plan.bwrap_args, rt)},
                               {"command", strings(plan.command)}}},
        {"env", std::move(env)},
        {"runtime_dir", runtime_dir(plan, opts)},
        {"daemons", daemons(plan, rt)},
        {"logs", logs(plan, rt)},
    };
    return json::serialize(root) + "\n";
}

} // namespace cellgen
