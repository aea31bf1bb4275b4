// See filter.hpp.
#include "policy/filter.hpp"

#include "common/syntax.hpp"

#include <fmt/format.h>

#include <fnmatch.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace policy {
namespace {

bool space(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

struct LinePattern {
    std::string_view pattern;
    std::string_view ignored; // text tinyproxy silently drops after whitespace
};

// tinyproxy's line reading, kept exactly: see the header comment.
LinePattern pattern_of(std::string_view line) {
    std::size_t start = 0;
    while (start < line.size() && space(line[start]))
        ++start;
    auto end = start;
    while (end < line.size() && !space(line[end])) {
        if (line[end] == '#' && (end == 0 || line[end - 1] != '\\'))
            break;
        ++end;
    }
    auto rest = line.substr(end);
    auto r = rest.find_first_not_of(" \t\r\v\f");
    std::string_view ignored;
    if (r != std::string_view::npos && rest[r] != '#')
        ignored = rest.substr(r);
    return {line.substr(start, end - start), ignored};
}

Parsed<std::shared_ptr<regex_t>> compile(const std::string& pattern, FilterOptions options) {
    int flags = REG_NOSUB | REG_NEWLINE;
    if (options.type == FilterType::ere)
        flags |= REG_EXTENDED;
    if (!options.case_sensitive)
        flags |= REG_ICASE;
    regex_t re{};
    if (int err = regcomp(&re, pattern.c_str(), flags); err != 0) {
        char text[256];
        regerror(err, &re, text, sizeof text);
        return fail(
            fmt::format("bad {} pattern '{}': {}", filter_type_name(options.type), pattern, text));
    }
    // Only a successfully compiled regex may be regfree'd, so wrap it now.
    return std::shared_ptr<regex_t>(new regex_t(re), [](regex_t* r) {
        regfree(r);
        delete r;
    });
}

} // namespace

Parsed<FilterType> parse_filter_type(std::string_view text) {
    if (text == "bre")
        return FilterType::bre;
    if (text == "ere")
        return FilterType::ere;
    if (text == "fnmatch")
        return FilterType::fnmatch;
    return fail(fmt::format("filter type '{}' is not bre, ere or fnmatch", text));
}

std::string_view filter_type_name(FilterType type) {
    switch (type) {
    case FilterType::bre:
        return "bre";
    case FilterType::ere:
        return "ere";
    case FilterType::fnmatch:
        return "fnmatch";
    }
    return "?";
}

std::string FilterRule::where() const {
    return fmt::format("{}:{}", file, line);
}

Parsed<Filter> Filter::parse(std::string_view text, std::string file, FilterOptions options) {
    Filter f;
    f.options_ = options;
    f.file_ = file;
    int lineno = 0;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        ++lineno;
        auto lp = pattern_of(line);
        if (lp.pattern.empty())
            continue;
        FilterRule rule{std::string(lp.pattern), file, lineno, nullptr, std::nullopt};
        if (lp.ignored.starts_with("port=")) {
            auto token = lp.ignored.substr(0, lp.ignored.find_first_of(" \t\r\v\f#"));
            auto port = common::parse_port(token.substr(5));
            if (!port)
                return fail(fmt::format("{}: {}: {}", rule.where(), token, port.error()));
            rule.port = *port;
            auto rest = lp.ignored.substr(token.size());
            auto r = rest.find_first_not_of(" \t\r\v\f");
            lp.ignored =
                r == std::string_view::npos || rest[r] == '#' ? std::string_view() : rest.substr(r);
        }
        if (options.type != FilterType::fnmatch) {
            auto re = compile(rule.pattern, options);
            if (!re)
                return fail(fmt::format("{}: {}", rule.where(), re.error()));
            rule.regex = *re;
        }
        if (!lp.ignored.empty())
            f.warnings_.push_back(fmt::format("{}: warning: '{}' after whitespace is ignored "
                                              "(a line holds one pattern, then optionally port=N)",
                                              rule.where(), lp.ignored));
        for (const auto& w : pattern_warnings(rule.pattern, options.type))
            f.warnings_.push_back(fmt::format("{}: warning: {}", rule.where(), w));
        f.rules_.push_back(std::move(rule));
    }
    return f;
}

Parsed<Filter> Filter::load(const std::string& path, FilterOptions options) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return fail(fmt::format("{}: cannot open filter file", path));
    // Not `text << in.rdbuf()`: that swallows a read error (a directory opens
    // fine and reads EISDIR), and an unreadable file would compile to an
    // empty allowlist that denies everything.
    std::string text;
    char block[4096];
    while (in.read(block, sizeof block) || in.gcount() > 0)
        text.append(block, static_cast<std::size_t>(in.gcount()));
    if (in.bad())
        return fail(fmt::format("{}: cannot read filter file", path));
    return parse(text, path, options);
}

const FilterRule* Filter::match(std::string_view host) const {
    return find(host, [](const FilterRule&) { return true; });
}

const FilterRule* Filter::match(std::string_view host, std::uint16_t port,
                                bool port_rules_only) const {
    return find(host, [&](const FilterRule& rule) {
        return rule.port ? *rule.port == port : !port_rules_only;
    });
}

const FilterRule* Filter::find(std::string_view host,
                               const std::function<bool(const FilterRule&)>& eligible) const {
    std::string h(host);
    for (const auto& rule : rules_) {
        if (!eligible(rule))
            continue;
        bool hit = false;
        if (rule.regex) {
            hit = regexec(rule.regex.get(), h.c_str(), 0, nullptr, 0) == 0;
        } else {
            int flags = options_.case_sensitive ? 0 : FNM_CASEFOLD;
            hit = fnmatch(rule.pattern.c_str(), h.c_str(), flags) == 0;
        }
        if (hit)
            return &rule;
    }
    return nullptr;
}

} // namespace policy
