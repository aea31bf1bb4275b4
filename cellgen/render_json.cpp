// `--print json`: the whole plan as one JSON object (version 1). Runtime paths
// are spelled under --runtime-dir, or under the text "$CELL_RT".
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

json::array daemons(const Plan& plan, const RuntimeDir& rt) {
    json::array out;
    for (const auto& d : plan.daemons) {
        json::object o{{"name", d.name}, {"argv", strings(d.argv, rt)}, {"mode", d.mode}};
        o["ready_socket"] =
            d.ready_socket ? json::value(arg_text(*d.ready_socket, rt)) : json::value(nullptr);
        o["jail_listen"] =
            d.jail_listen
                ? json::value(fmt::format("{}:{}", d.jail_listen->address, d.jail_listen->port))
                : json::value(nullptr);
        o["needs"] = d.needs ? json::value(*d.needs) : json::value(nullptr);
        out.push_back(std::move(o));
    }
    return out;
}

json::object logs(const Plan& plan, const RuntimeDir& rt) {
    json::object files;
    for (const auto& [name, path] : plan.log_files) {
        files[name] = arg_text(path, rt);
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
                               {"command", strings(plan.command())}}},
        {"env", std::move(env)},
        {"runtime_dir", runtime_dir(plan, opts)},
        {"daemons", daemons(plan, rt)},
        {"logs", logs(plan, rt)},
    };
    return json::serialize(root) + "\n";
}

} // namespace cellgen
