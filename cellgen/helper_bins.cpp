// Helper lookup. Absolute paths are rendered, so a plan keeps working when
// run from another directory or with another PATH.
#include "cellgen/helper_bins.hpp"

#include <filesystem>
#include <system_error>
#include <unistd.h>

namespace cellgen {

namespace {

bool is_executable_file(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

// The build-tree folder of a program: the source folder it is built from.
std::string build_folder(const std::string& name) {
    if (name == "cell" || name == "cell-launch" || name == "cell-engine") {
        return "launch";
    }
    return name == "cell-connect" ? "proxy" : name;
}

} // namespace

std::string self_exe_dir() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string(".") : exe.parent_path().string();
}

std::optional<std::string> find_on_path(const std::string& name,
                                        const std::optional<std::string>& path_env) {
    std::string_view path = path_env ? std::string_view(*path_env) : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        auto colon = path.find(':');
        auto dir = path.substr(0, colon);
        if (!dir.empty() && dir.front() == '/') {
            auto candidate = std::filesystem::path(dir) / name;
            if (is_executable_file(candidate)) {
                return candidate.lexically_normal().string();
            }
        }
        if (colon == std::string_view::npos) {
            return std::nullopt;
        }
        path.remove_prefix(colon + 1);
    }
}

std::optional<std::string> find_sibling(const std::string& name, const std::string& self_dir) {
    const std::filesystem::path dir(self_dir);
    for (const auto& candidate : {dir / name, dir / ".." / "libexec" / "unsafe-cell" / name,
                                  dir / ".." / build_folder(name) / name}) {
        if (is_executable_file(candidate)) {
            return candidate.lexically_normal().string();
        }
    }
    return std::nullopt;
}

std::optional<std::string> find_helper(const std::string& name, const std::string& self_dir,
                                       const std::optional<std::string>& path_env) {
    if (auto sibling = find_sibling(name, self_dir)) {
        return sibling;
    }
    return find_on_path(name, path_env);
}

} // namespace cellgen
