// Small mutators of the Jail value that keep its invariants (unique env names,
// each runtime dir listed once, parents before children).
#include "cellgen/jail.hpp"

#include <algorithm>

namespace cellgen {

void Jail::set_env(const std::string& name, std::string value) {
    std::erase_if(forwarded_env, [&](const ForwardedEnv& f) { return f.name == name; });
    auto it =
        std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
    if (it != env.end()) {
        it->second = std::move(value);
    } else {
        env.emplace_back(name, std::move(value));
    }
}

void Jail::forward_env(ForwardedEnv fwd) {
    std::erase_if(forwarded_env, [&](const ForwardedEnv& f) { return f.name == fwd.name; });
    forwarded_env.push_back(std::move(fwd));
}

std::optional<std::string> Jail::env_value(const std::string& name) const {
    for (const auto& [key, value] : env) {
        if (key == name) {
            return value;
        }
    }
    return std::nullopt;
}

void Jail::add_runtime_dir(const std::string& rel) {
    // Parents first, so `mkdir` without -p would also work and the list reads top-down.
    for (auto slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
        add_runtime_dir(rel.substr(0, slash));
    }
    if (std::find(runtime_dirs.begin(), runtime_dirs.end(), rel) == runtime_dirs.end()) {
        runtime_dirs.push_back(rel);
    }
}

void Jail::add_runtime_file(std::string rel, std::string content) {
    if (auto slash = rel.rfind('/'); slash != std::string::npos) {
        add_runtime_dir(rel.substr(0, slash));
    }
    auto it = std::find_if(runtime_files.begin(), runtime_files.end(),
                           [&](const RuntimeFile& f) { return f.rel == rel; });
    if (it != runtime_files.end()) {
        it->content = std::move(content);
    } else {
        runtime_files.push_back({std::move(rel), std::move(content)});
    }
}

} // namespace cellgen
