// Fuzz target: cellgen's INI profile, read with Boost.Program_options, and
// everything cellgen does with it (settings, combinators, plan, render).
// The input is the profile file (read_profile takes a path, so it is
// written to a private temp file). Properties, for every input:
//  - the profile reader returns entries with known keys and FILE:LINE
//    origins in file order, or throws UsageError, nothing else;
//  - the whole program either renders (status 0) or fails with status 2 and
//    exactly one line `cellgen: ...` (the CLI error contract).
#include "tests/fuzz/check.hpp"

#include "cellgen/cli.hpp"
#include "cellgen/options.hpp"
#include "cellgen/profile.hpp"
#include "cellgen/registry.hpp"
#include "cellgen/usage_error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

// One temp file per process, removed at exit.
class TempFile {
public:
    TempFile() {
        const char* dir = std::getenv("TMPDIR");
        path_ = std::string(dir && *dir ? dir : "/tmp") + "/cellgen-fuzz-XXXXXX";
        int fd = ::mkstemp(path_.data());
        if (fd < 0) {
            std::perror("profile fuzz: mkstemp");
            std::abort();
        }
        ::close(fd);
    }
    ~TempFile() { ::unlink(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    const std::string& write(const std::uint8_t* data, std::size_t size) {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        out.close();
        FUZZ_CHECK(out.good());
        return path_;
    }

private:
    std::string path_;
};

void check_entries(const std::string& path,
                   const boost::program_options::options_description& desc) {
    std::vector<cellgen::ProfileEntry> entries;
    try {
        entries = cellgen::read_profile(path, desc);
    } catch (const cellgen::UsageError& e) {
        FUZZ_CHECK(std::string_view(e.what()).find(path) != std::string_view::npos);
        return;
    }
    long previous = 0;
    for (const auto& e : entries) {
        FUZZ_CHECK(desc.find_nothrow(e.key, false) != nullptr);
        FUZZ_CHECK(e.origin.starts_with(path + ":"));
        long line = std::strtol(e.origin.c_str() + path.size() + 1, nullptr, 10);
        FUZZ_CHECK(line > previous);
        previous = line;
    }
}

void check_cli(const std::string& path) {
    cellgen::CliEnvironment env{[](const std::string& name) -> std::optional<std::string> {
                                    if (name == "PATH")
                                        return "/usr/bin:/bin";
                                    if (name == "TERM")
                                        return "xterm";
                                    return std::nullopt;
                                },
                                "/nonexistent", "fuzz"};
    auto r =
        cellgen::run_cli({"--profile", path, "--print", "json", "--bwrap-bin", "/bin/false",
                          "--relay-bin", "/bin/false", "--proxy-bin", "/bin/false", "--", "true"},
                         env);
    if (r.status == 0) {
        FUZZ_CHECK(!r.out.empty() && r.err.empty());
        return;
    }
    FUZZ_CHECK(r.status == 2);
    FUZZ_CHECK(r.err.starts_with("cellgen: ") && r.err.find('\n') == r.err.size() - 1);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static TempFile file;
    static const auto table = cellgen::combinator_table();
    static const auto desc = cellgen::profile_options(table);
    const auto& path = file.write(data, size);
    check_entries(path, desc);
    check_cli(path);
    return 0;
}
