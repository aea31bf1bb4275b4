// Public suffixes (com, co.uk, github.io ...) from the Mozilla list that the
// Debian `publicsuffix` package installs. Used only to refuse `--allow`
// wildcards broader than a registrable domain (`*.com`, `**.co.uk`). When
// the list is missing, every single-label suffix still counts as public.
#pragma once

#include "policy/parse_result.hpp"

#include <memory>
#include <string>
#include <string_view>

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
    bool contains(std::string_view rule) const;

    // The list's text as is, mapped from the file (or owned, from parse).
    // A cell asks a few questions once, so searching the text beats
    // building a set of ~10,000 strings on every start (that took 10 ms of
    // cellgen's 14, bench/cellgen.sh).
    std::shared_ptr<const void> storage_;
    std::string_view text_;
};

} // namespace policy
