// The plan's JSON form (`--print plan`, version kPlanVersion); see plan.hpp.
#include "cellgen/plan.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <boost/json.hpp>
#include <cstdint>
#include <fmt/format.h>
#include <initializer_list>

namespace cellgen {

namespace json = boost::json;

namespace {

json::value arg_value(const Arg& arg) {
    if (const auto* text = std::get_if<std::string>(&arg)) {
        return json::value(*text);
    }
    const auto& path = std::get<RuntimePath>(arg);
    json::object o{{"rt", path.rel}};
    if (!path.text_before.empty()) {
        o["before"] = path.text_before;
    }
    return o;
}

json::array args_value(const Args& args) {
    json::array out;
    for (const auto& a : args) {
        out.push_back(arg_value(a));
    }
    return out;
}

json::array strings_value(const std::vector<std::string>& words) {
    return json::array(words.begin(), words.end());
}

} // namespace

std::string plan_to_json(const Plan& plan) {
    json::array required;
    for (const auto& d : plan.required_dirs) {
        required.push_back(json::object{
            {"what", d.what}, {"path", d.path}, {"system_ok", d.system_ok}, {"make", d.make}});
    }
    json::array forwarded;
    for (const auto& f : plan.forwarded_env) {
        forwarded.push_back(
            json::object{{"name", f.name}, {"required", f.required}, {"what", f.what}});
    }
    json::array files;
    for (const auto& f : plan.runtime_files) {
        files.push_back(json::object{{"path", f.rel}, {"content", f.content}});
    }
    json::array daemons;
    for (const auto& d : plan.daemons) {
        json::object o{{"name", d.name}, {"argv", args_value(d.argv)}, {"mode", d.mode}};
        o["needs"] = d.needs ? json::value(*d.needs) : json::value(nullptr);
        json::array listens;
        for (const auto& l : d.jail_listen) {
            listens.push_back(json::object{{"address", l.address}, {"port", l.port}});
        }
        o["jail_listen"] = std::move(listens);
        o["access_log"] = d.access_log ? json::value(*d.access_log) : json::value(nullptr);
        o["refusal_log"] = d.refusal_log ? json::value(*d.refusal_log) : json::value(nullptr);
        daemons.push_back(std::move(o));
    }
    json::object root{
        {"cell_launch_plan", kPlanVersion},
        {"cellgen", plan.version},
        {"bwrap", plan.bwrap},
        {"bwrap_args", args_value(plan.bwrap_args)},
        {"command", strings_value(plan.command)},
        {"jail_init", strings_value(plan.jail_init)},
        {"required_dirs", std::move(required)},
        {"forwarded_env", std::move(forwarded)},
        {"runtime_dirs", strings_value(plan.runtime_dirs)},
        {"runtime_files", std::move(files)},
        {"private_devices", strings_value(plan.private_devices)},
        {"max_procs", plan.max_procs},
        {"memory_max", static_cast<std::int64_t>(plan.memory_max)},
        {"log_dir", arg_value(plan.log_dir_or_runtime())},
        {"daemons", std::move(daemons)},
        {"notices", strings_value(plan.notices)},
        {"worktree", plan.worktree ? json::value(*plan.worktree) : json::value(nullptr)},
        {"masks", strings_value(plan.masks)},
    };
    // serialize() escapes control characters: the text is one line.
    return json::serialize(root);
}

namespace {

// Field access with the path of the field in every error.
class Reader {
public:
    Reader(const json::value& v, std::string path) : v_(v), path_(std::move(path)) {}

    [[noreturn]] void fail(std::string_view want) const {
        throw PlanError(fmt::format("{}: expected {}", path_, want));
    }

    const json::object& object() const {
        if (!v_.is_object()) {
            fail("an object");
        }
        return v_.get_object();
    }

    // Refuses any key not in `known`: a misspelt or newer field is an
    // error, never silently dropped.
    const Reader& only(std::initializer_list<std::string_view> known) const {
        for (const auto& kv : object()) {
            if (std::find(known.begin(), known.end(), kv.key()) == known.end()) {
                throw PlanError(
                    fmt::format("{}: unknown field \"{}\"", path_, std::string_view(kv.key())));
            }
        }
        return *this;
    }

    Reader field(std::string_view name) const {
        const auto& o = object();
        auto it = o.find(name);
        if (it == o.end()) {
            throw PlanError(fmt::format("{}: missing field \"{}\"", path_, name));
        }
        return {it->value(), fmt::format("{}.{}", path_, name)};
    }

    bool is_null() const { return v_.is_null(); }

    std::string string() const {
        if (!v_.is_string()) {
            fail("a string");
        }
        return std::string(v_.get_string());
    }

    std::int64_t integer(std::int64_t low, std::int64_t high) const {
        auto n = v_.if_int64();
        if (!n || *n < low || *n > high) {
            fail(fmt::format("a whole number from {} to {}", low, high));
        }
        return *n;
    }

    bool boolean() const {
        if (!v_.is_bool()) {
            fail("true or false");
        }
        return v_.get_bool();
    }

    template <typename F>
    void each(F&& f) const {
        if (!v_.is_array()) {
            fail("an array");
        }
        const auto& a = v_.get_array();
        for (size_t i = 0; i < a.size(); ++i) {
            f(Reader(a[i], fmt::format("{}[{}]", path_, i)));
        }
    }

    std::vector<std::string> strings() const {
        std::vector<std::string> out;
        each([&](const Reader& r) { out.push_back(r.string()); });
        return out;
    }

    std::optional<std::string> optional_string() const {
        if (is_null()) {
            return std::nullopt;
        }
        return string();
    }

    Arg arg() const {
        if (v_.is_string()) {
            return std::string(v_.get_string());
        }
        if (!v_.is_object()) {
            fail("a string or {\"rt\": PATH}");
        }
        only({"rt", "before"});
        RuntimePath path{field("rt").string()};
        if (object().contains("before")) {
            path.text_before = field("before").string();
        }
        if (path.rel.empty() || path.rel.front() == '/' ||
            path.rel.find("..") != std::string::npos) {
            throw PlanError(
                fmt::format("{}.rt: \"{}\" is not a path inside the runtime dir", path_, path.rel));
        }
        return path;
    }

    Args args() const {
        Args out;
        each([&](const Reader& r) { out.push_back(r.arg()); });
        return out;
    }

private:
    const json::value& v_;
    std::string path_;
};

// A runtime dir entry: relative, no "..", so nothing lands outside the dir.
std::string relative_path(const Reader& r) {
    auto path = r.string();
    if (path.empty() || path.front() == '/' || path.find("..") != std::string::npos) {
        throw PlanError(fmt::format("\"{}\" is not a path inside the runtime dir", path));
    }
    return path;
}

JailListen jail_listen(const Reader& r) {
    r.only({"address", "port"});
    JailListen l{r.field("address").string(), static_cast<int>(r.field("port").integer(1, 65535))};
    in_addr ignored;
    if (::inet_pton(AF_INET, l.address.c_str(), &ignored) != 1) {
        throw PlanError(
            fmt::format("plan.daemons: jail_listen: \"{}\" is not an IPv4 address", l.address));
    }
    return l;
}

} // namespace

Plan plan_from_json(std::string_view text) {
    boost::system::error_code ec;
    // Paths are bytes, not always UTF-8 (a worktree named in Latin-1): the
    // writer passes them through, so the reader must take them back.
    json::parse_options options;
    options.allow_invalid_utf8 = true;
    auto value = json::parse(text, ec, {}, options);
    if (ec) {
        throw PlanError(fmt::format("plan: not JSON: {}", ec.message()));
    }
    Reader root(value, "plan");
    root.only({"cell_launch_plan", "cellgen", "bwrap", "bwrap_args", "command", "jail_init",
               "required_dirs", "forwarded_env", "runtime_dirs", "runtime_files", "private_devices",
               "max_procs", "memory_max", "log_dir", "daemons", "notices", "worktree", "masks"});
    root.field("cell_launch_plan");
    if (value.get_object().at("cell_launch_plan") != json::value(kPlanVersion)) {
        throw PlanError(fmt::format("plan: cell_launch_plan: this cell-launch reads version {} "
                                    "only (a wrapper and its cell-launch come from one build: "
                                    "render the wrapper again)",
                                    kPlanVersion));
    }
    Plan lp;
    lp.version = root.field("cellgen").string();
    lp.bwrap = root.field("bwrap").string();
    lp.bwrap_args = root.field("bwrap_args").args();
    lp.command = root.field("command").strings();
    lp.jail_init = root.field("jail_init").strings();
    root.field("required_dirs").each([&](const Reader& r) {
        r.only({"what", "path", "system_ok", "make"});
        lp.required_dirs.push_back({r.field("what").string(), r.field("path").string(),
                                    r.field("system_ok").boolean(), r.field("make").boolean()});
    });
    root.field("forwarded_env").each([&](const Reader& r) {
        r.only({"name", "required", "what"});
        lp.forwarded_env.push_back(
            {r.field("name").string(), r.field("required").boolean(), r.field("what").string()});
    });
    root.field("runtime_dirs").each([&](const Reader& r) {
        lp.runtime_dirs.push_back(relative_path(r));
    });
    root.field("runtime_files").each([&](const Reader& r) {
        r.only({"path", "content"});
        lp.runtime_files.push_back({relative_path(r.field("path")), r.field("content").string()});
    });
    lp.private_devices = root.field("private_devices").strings();
    lp.max_procs = root.field("max_procs").integer(0, 4194304);
    lp.memory_max = root.field("memory_max").integer(0, std::int64_t{1} << 50);
    lp.log_dir = root.field("log_dir").arg();
    lp.notices = root.field("notices").strings();
    lp.worktree = root.field("worktree").optional_string();
    lp.masks = root.field("masks").strings();
    root.field("daemons").each([&](const Reader& r) {
        r.only({"name", "argv", "mode", "needs", "jail_listen", "access_log", "refusal_log"});
        Daemon d{r.field("name").string(),
                 r.field("argv").args(),
                 r.field("mode").string(),
                 r.field("needs").optional_string(),
                 {},
                 r.field("access_log").optional_string(),
                 r.field("refusal_log").optional_string()};
        r.field("jail_listen").each([&](const Reader& l) {
            d.jail_listen.push_back(jail_listen(l));
        });
        for (const auto* log : {&d.access_log, &d.refusal_log}) {
            if (*log && ((*log)->empty() || **log == "." || **log == ".." ||
                         (*log)->find('/') != std::string::npos)) {
                throw PlanError(
                    fmt::format("plan.daemons: {}: log \"{}\" is not a file name", d.name, **log));
            }
        }
        if (d.name.empty() || d.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") !=
                                  std::string::npos) {
            throw PlanError(
                fmt::format("plan.daemons: \"{}\" is not a daemon name ([a-z0-9_-])", d.name));
        }
        if (d.argv.empty()) {
            throw PlanError(fmt::format("plan.daemons: {}: empty argv", d.name));
        }
        if (d.mode != "on" && d.mode != "auto") {
            throw PlanError(fmt::format("plan.daemons: {}: mode is \"on\" or \"auto\"", d.name));
        }
        lp.daemons.push_back(std::move(d));
    });
    return lp;
}

} // namespace cellgen
