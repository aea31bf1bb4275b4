// Fuzz target: tinyproxy-compatible filter files (reading, compiling,
// linting, matching). The first byte picks the options (type, case), the
// rest is the file. Properties, for every file that loads:
//  - each rule is one non-empty pattern without whitespace, at a line of the
//    file, in file order;
//  - a rule that is a plain host name (letters, digits, '.', '-') matches
//    that host, through an earlier rule or itself: the one reading of a
//    filter file every user relies on.
// Filter files are configuration, not network input. glibc's regcomp takes
// time and memory exponential in stacked repetition (`a+++...`, nested
// `{n,m}`), as in tinyproxy; the target keeps away from that known cost
// (short lines, few and no adjacent repetition operators, one interval).
#include "tests/fuzz/check.hpp"

#include "proxy/policy_names.hpp"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t max_rules_matched = 16;
constexpr std::size_t max_line = 128;
constexpr int max_repetitions = 6;

bool plain_host(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '-';
    });
}

bool repetition(char c) {
    return c == '*' || c == '+' || c == '?' || c == '{';
}

// Lines regcomp compiles in bounded time and memory (see the header comment).
bool tame_lines(std::string_view text) {
    std::size_t length = 0;
    int intervals = 0;
    int repetitions = 0; // `((a+)+)+` doubles per level: keep the nesting shallow
    char previous = '\n';
    for (char c : text) {
        if (c == '\n') {
            length = 0;
            intervals = 0;
            repetitions = 0;
        } else if (++length > max_line || (c == '{' && ++intervals > 1) ||
                   (repetition(c) && ++repetitions > max_repetitions) ||
                   (repetition(c) && (repetition(previous) || previous == '}'))) {
            return false;
        }
        if (c != '\\')
            previous = c; // so GNU BRE's `\+\+` counts as adjacent too
    }
    return true;
}

void check_rules(const proxy::Filter& filter, std::string_view text) {
    auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    int previous = 0;
    for (const auto& rule : filter.rules()) {
        FUZZ_CHECK(!rule.pattern.empty());
        FUZZ_CHECK(std::none_of(rule.pattern.begin(), rule.pattern.end(),
                                [](unsigned char c) { return std::isspace(c); }));
        FUZZ_CHECK(rule.line > previous && rule.line <= lines);
        FUZZ_CHECK(rule.where() == "fuzz:" + std::to_string(rule.line));
        previous = rule.line;
    }
}

void check_matches(const proxy::Filter& filter) {
    const auto& rules = filter.rules();
    auto n = std::min(rules.size(), max_rules_matched);
    for (std::size_t i = 0; i < n; ++i) {
        const auto* hit = filter.match(rules[i].pattern);
        if (hit)
            FUZZ_CHECK(hit >= rules.data() && hit < rules.data() + rules.size());
        if (plain_host(rules[i].pattern))
            FUZZ_CHECK(hit != nullptr && hit <= &rules[i]);
    }
    (void)filter.match("example.com");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    proxy::FilterOptions options;
    options.type = static_cast<proxy::FilterType>(data[0] % 3);
    options.case_sensitive = (data[0] & 4) != 0;
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (!tame_lines(text))
        return -1; // not added to the corpus
    auto filter = proxy::Filter::parse(text, "fuzz", options);
    if (!filter)
        return 0;
    check_rules(*filter, text);
    check_matches(*filter);
    for (const auto& w : filter->warnings())
        FUZZ_CHECK(w.starts_with("fuzz:"));
    return 0;
}
