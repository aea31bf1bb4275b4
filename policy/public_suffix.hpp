// Public suffixes (com, co.uk, github.io ...) from the Mozilla list that the
// Debian `publicsuffix` package installs. Used only to refuse `--allow`
// wildcards broader than a registrable domain (`*.com`, `**.co.uk`). When
// the list is missing, every single-label suffix still counts as public.
#pragma once

#include "policy/parse_result.hpp"

#include <string>
#include <string_view>
#include <unordered_set>

namespace policy {

constexpr std::string_view default_public_suffix_list =
    "/usr/share/publicsuffix/public_suffix_list.dat";

class PublicSuffixes {
public:
    static PublicSuffixes parse(std::string_view text);
    // Missing file -> the single-label fallback only.
    static PublicSuffixes load(const std::string& path);

    bool is_public_suffix(std::string_view domain) const;

private:
    std::unordered_set<std::string> rules_; // "com", "*.ck", "!www.ck"
};

} // namespace policy
