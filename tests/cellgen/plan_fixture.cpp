// Implementation of the shared test helpers.
#include "tests/cellgen/plan_fixture.hpp"

#include "cellgen/shell_quote.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

namespace cellgen_test {

cellgen::Context Fixture::context() const {
    auto env_copy = env;
    return cellgen::Context{settings,
                            [env_copy](const std::string& name) -> std::optional<std::string> {
                                auto it = env_copy.find(name);
                                if (it == env_copy.end()) {
                                    return std::nullopt;
                                }
                                return it->second;
                            },
                            defer_caller_env};
}

cellgen::Plan Fixture::plan(const std::vector<cellgen::Invocation>& invs,
                            std::vector<std::string> command) const {
    auto ctx = context();
    auto jail = cellgen::compose(invs, cellgen::combinator_table(), ctx);
    cellgen::Binaries bins{"/usr/bin/bwrap", settings.relay_bin, settings.proxy_bin,
                           "/usr/bin/cell-launch"};
    return cellgen::make_plan(jail, settings.proxy, bins, std::move(command));
}

std::vector<std::string> Fixture::args(const std::vector<cellgen::Invocation>& invs) const {
    return texts(plan(invs).bwrap_args);
}

cellgen::CliResult Fixture::cli(std::vector<std::string> argv) const {
    auto ctx = context();
    cellgen::CliEnvironment cli_env{ctx.env, "/nonexistent-cellgen-dir", "test"};
    return cellgen::run_cli(argv, cli_env);
}

cellgen::Invocation inv(std::string name, std::vector<std::string> args) {
    auto origin = "--" + name;
    return {std::move(name), std::move(args), std::move(origin)};
}

std::vector<std::string> texts(const cellgen::Args& args, const std::string& rt) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        out.push_back(cellgen::arg_text(a, cellgen::RuntimeDir{rt}));
    }
    return out;
}

std::string run_bash(const std::string& script, const std::map<std::string, std::string>& env) {
    TempDir dir;
    auto file = dir.path + "/script.sh";
    std::ofstream(file, std::ios::binary) << script;
    std::string cmd = "env";
    for (const auto& [k, v] : env) {
        std::string assignment = k;
        assignment += '=';
        assignment += v;
        cmd += ' ';
        cmd += cellgen::shell_quote(assignment);
    }
    cmd += " bash " + file;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    std::array<char, 4096> buf{};
    while (auto n = std::fread(buf.data(), 1, buf.size(), pipe)) {
        out.append(buf.data(), n);
    }
    int status = ::pclose(pipe);
    INFO(script);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    return out;
}

std::vector<std::string> split_nul(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (auto end = text.find('\0'); end != std::string::npos; end = text.find('\0', start)) {
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

TempDir::TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "cellgen-test.XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

} // namespace cellgen_test
