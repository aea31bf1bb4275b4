// tinyproxy-compatible filter files. Same reading as tinyproxy 1.11: leading
// whitespace skipped, a pattern ends at the first whitespace or at a `#` not
// preceded by `\` (the `\` stays, so `\#` matches a literal `#`), blank and
// comment lines ignored; POSIX BRE by default (regcomp, REG_NOSUB), ERE or
// fnmatch on request; case-insensitive unless asked; and, the trap users
// fall into, matching is an UNANCHORED search of the host: `github\.com`
// also matches `github.com.evil.net`. We keep that meaning (files written
// for tinyproxy keep working) and warn about it in `proxy --check`.
//
// One extension, in the text tinyproxy drops: `PATTERN port=N` after
// whitespace narrows the rule to port N and opens N for the hosts it
// matches only (like `--allow HOST:N`), beside the CONNECT ports every
// allowed host gets. tinyproxy reads such a line as PATTERN alone.
#pragma once

#include "policy/parse_result.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <regex.h>

namespace policy {

enum class FilterType { bre, ere, fnmatch };

Parsed<FilterType> parse_filter_type(std::string_view text);
std::string_view filter_type_name(FilterType type);

struct FilterOptions {
    FilterType type = FilterType::bre;
    bool case_sensitive = false;
};

struct FilterRule {
    std::string pattern;
    std::string file;
    int line = 0;
    std::shared_ptr<regex_t> regex;    // null for fnmatch
    std::optional<std::uint16_t> port; // `port=N`: this port only

    // "FILE:LINE" for logs, 403 bodies and --check.
    std::string where() const;
};

class Filter {
public:
    static Parsed<Filter> parse(std::string_view text, std::string file, FilterOptions options);
    static Parsed<Filter> load(const std::string& path, FilterOptions options);

    // The first rule matching the (normalised) host, or null: any rule
    // (whatever its port), or with `port` the first whose port is unset or
    // that port, or with `port_rules_only` too the first set to that port.
    const FilterRule* match(std::string_view host) const;
    const FilterRule* match(std::string_view host, std::uint16_t port,
                            bool port_rules_only = false) const;

    const std::vector<FilterRule>& rules() const { return rules_; }
    // "FILE:LINE: warning: ..." lines for --check and the startup log.
    const std::vector<std::string>& warnings() const { return warnings_; }
    FilterOptions options() const { return options_; }
    const std::string& file() const { return file_; }

private:
    const FilterRule* find(std::string_view host,
                           const std::function<bool(const FilterRule&)>& eligible) const;

    std::string file_;
    std::vector<FilterRule> rules_;
    std::vector<std::string> warnings_;
    FilterOptions options_;
};

// The warnings for one pattern (without location), empty when it looks exact.
std::vector<std::string> pattern_warnings(std::string_view pattern, FilterType type);

} // namespace policy
