// Profile reading. Boost's config parser does the parsing; a light pre-scan
// of the same text finds the line of each entry, because the parser reports
// neither line numbers nor, in order, where an option came from.
#include "cellgen/profile.hpp"

#include "cellgen/usage_error.hpp"

#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cellgen {

namespace po = boost::program_options;

const char* const kDefaultProfileText = R"(# The embedded default cell.
base =
host-system =
try-nix-store =
nix-daemon =
proxy =
log-dir =
try-fwd-env = TERM
)";

namespace {

struct KeyLine {
    std::string key;
    int line;
};

std::string trim(std::string_view s) {
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) {
        return {};
    }
    auto e = s.find_last_not_of(" \t\r");
    return std::string(s.substr(b, e - b + 1));
}

// Same line rules as Boost's parser: '#' starts a comment, blank lines skipped.
std::vector<KeyLine> scan_keys(const std::string& text, const std::string& name,
                               const po::options_description& desc) {
    std::vector<KeyLine> keys;
    std::istringstream in(text);
    std::string raw;
    for (int n = 1; std::getline(in, raw); ++n) {
        auto line = trim(std::string_view(raw).substr(0, raw.find('#')));
        if (line.empty()) {
            continue;
        }
        auto where = fmt::format("{}:{}", name, n);
        if (line.front() == '[') {
            throw UsageError(where + ": sections are not supported; use plain `name = value`");
        }
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            throw UsageError(fmt::format("{}: expected `name = value`, got '{}'", where, line));
        }
        auto key = trim(std::string_view(line).substr(0, eq));
        // An empty name would match every option in find_nothrow (ambiguous_option).
        if (key.empty()) {
            throw UsageError(fmt::format("{}: expected `name = value`, got '{}'", where, line));
        }
        if (desc.find_nothrow(key, false) == nullptr) {
            throw UsageError(fmt::format("{}: unknown key '{}'", where, key));
        }
        keys.push_back({key, n});
    }
    return keys;
}

std::vector<ProfileEntry> parse_text(const std::string& text, const std::string& name,
                                     const po::options_description& desc) {
    auto keys = scan_keys(text, name, desc);
    std::istringstream in(text);
    po::parsed_options parsed(&desc);
    try {
        parsed = po::parse_config_file(in, desc, false);
    } catch (const po::error& e) {
        throw UsageError(fmt::format("{}: {}", name, e.what()));
    }
    if (parsed.options.size() != keys.size()) {
        throw UsageError(fmt::format("{}: could not match entries to lines", name));
    }
    std::vector<ProfileEntry> entries;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto& opt = parsed.options[i];
        std::string value = opt.value.empty() ? std::string() : opt.value.front();
        entries.push_back({opt.string_key, value, fmt::format("{}:{}", name, keys[i].line)});
    }
    return entries;
}

} // namespace

std::vector<ProfileEntry> read_profile(const std::string& path,
                                       const po::options_description& desc) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw UsageError(fmt::format("--profile {}: is a directory", path));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw UsageError(fmt::format("--profile {}: cannot read: {}", path, std::strerror(errno)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        throw UsageError(fmt::format("--profile {}: cannot read: {}", path, std::strerror(errno)));
    }
    return parse_text(text.str(), path, desc);
}

std::vector<ProfileEntry> default_profile(const po::options_description& desc) {
    return parse_text(kDefaultProfileText, "default profile", desc);
}

} // namespace cellgen
