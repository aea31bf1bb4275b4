// Replays fuzz inputs without libFuzzer: every regular file named on the
// command line or found under a named directory (recursively, in sorted
// order) goes once through LLVMFuzzerTestOneInput. The normal build runs the
// committed corpus and the regressions this way, so a fixed crash stays fixed
// in every test run, sanitizer builds included.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// The inputs under `path`; false when the path does not exist (a typo in a
// test definition must not pass as "nothing to replay").
bool collect(const fs::path& path, std::vector<fs::path>& out) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
        out.push_back(path);
        return true;
    }
    if (!fs::is_directory(path, ec))
        return false;
    for (const auto& entry : fs::recursive_directory_iterator(path))
        if (entry.is_regular_file())
            out.push_back(entry.path());
    return true;
}

bool replay(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.is_open() || in.bad()) {
        std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
        return false;
    }
    // libFuzzer hands over a buffer of exactly the input's size; so do we,
    // so that ASan sees any read past its end.
    auto buffer = std::make_unique<std::uint8_t[]>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), buffer.get());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(buffer.get(), bytes.size());
    return true;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        if (!collect(argv[i], files)) {
            std::fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
            return 1;
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
        if (!replay(f))
            return 1;
    if (files.empty()) {
        std::fprintf(stderr, "replay: no inputs given\n");
        return 1;
    }
    std::printf("replayed %zu inputs\n", files.size());
    return 0;
}
