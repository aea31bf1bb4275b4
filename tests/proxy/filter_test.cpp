// tinyproxy-compatible filter files: reading, matching, FILE:LINE errors and
// the unanchored-pattern warnings.
#include "proxy/policy_names.hpp"

#include <catch2/catch.hpp>

using namespace proxy;

namespace {

bool allows(std::string_view text, FilterType type, std::string_view host, bool cs = false) {
    auto f = Filter::parse(text, "f", {type, cs});
    REQUIRE(f.has_value());
    return f->match(host) != nullptr;
}

} // namespace

TEST_CASE("filter lines are read like tinyproxy", "[filter]") {
    auto f = Filter::parse("# comment\n\n   \n  ^a\\.example$   # trailing\n"
                           "b\\#c\nfirst second\n\tindented\n#x\n",
                           "rules.txt", {});
    REQUIRE(f.has_value());
    REQUIRE(f->rules().size() == 4);
    CHECK(f->rules()[0].pattern == "^a\\.example$");
    CHECK(f->rules()[0].where() == "rules.txt:4");
    CHECK(f->rules()[1].pattern == "b\\#c");
    CHECK(f->rules()[2].pattern == "first");
    CHECK(f->rules()[3].pattern == "indented");
    CHECK(f->rules()[3].line == 7);
    bool ignored_warned = false;
    for (const auto& w : f->warnings())
        ignored_warned |= w.starts_with("rules.txt:6: warning: 'second'");
    CHECK(ignored_warned);
}

TEST_CASE("filter matching", "[filter]") {
    struct Case {
        const char* filter;
        FilterType type;
        const char* host;
        bool allowed;
    };
    auto c = GENERATE(values<Case>({
        {"github\\.com", FilterType::bre, "github.com", true},
        {"github\\.com", FilterType::bre, "github.com.evil.net", true}, // unanchored!
        {"github\\.com", FilterType::bre, "notgithub.com", true},
        {"^github\\.com$", FilterType::bre, "github.com.evil.net", false},
        {"^github\\.com$", FilterType::bre, "GITHUB.com", true}, // case-insensitive
        {"github.com", FilterType::bre, "githubxcom", true},     // '.' is any char
        {"^\\(www\\.\\)\\{0,1\\}example\\.org$", FilterType::bre, "www.example.org", true},
        {"^(www\\.)?example\\.org$", FilterType::bre, "www.example.org", false}, // BRE literal ( ?
        {"^(www\\.)?example\\.org$", FilterType::ere, "www.example.org", true},
        {"^(www\\.)?example\\.org$", FilterType::ere, "example.org", true},
        {"(^|\\.)example\\.org$", FilterType::ere, "a.b.example.org", true},
        {"(^|\\.)example\\.org$", FilterType::ere, "badexample.org", false},
        {"*.example.org", FilterType::fnmatch, "a.example.org", true},
        {"*.example.org", FilterType::fnmatch, "example.org", false},
        {"example.org", FilterType::fnmatch, "example.org.evil", false}, // anchored
        {"example.org", FilterType::fnmatch, "EXAMPLE.org", true},
        {"a\\#b", FilterType::bre, "a#b", true},
        {"", FilterType::bre, "anything", false}, // empty file denies all
        // the anchored forms docs/filters.md recommends
        {"^\\(.*\\.\\)\\{0,1\\}github\\.com$", FilterType::bre, "github.com", true},
        {"^\\(.*\\.\\)\\{0,1\\}github\\.com$", FilterType::bre, "a.b.github.com", true},
        {"^\\(.*\\.\\)\\{0,1\\}github\\.com$", FilterType::bre, "evilgithub.com", false},
        {"^(.+\\.)?github\\.com$", FilterType::ere, "github.com", true},
        {"^(.+\\.)?github\\.com$", FilterType::ere, "api.github.com", true},
        {"^(.+\\.)?github\\.com$", FilterType::ere, "evilgithub.com", false},
        {"^(.+\\.)?github\\.com$", FilterType::ere, "github.com.evil.net", false},
    }));
    CAPTURE(c.filter, c.host);
    CHECK(allows(c.filter, c.type, c.host) == c.allowed);
}

TEST_CASE("case-sensitive filters", "[filter]") {
    CHECK_FALSE(allows("^GitHub\\.com$", FilterType::bre, "github.com", true));
    CHECK(allows("^GitHub\\.com$", FilterType::bre, "github.com", false));
    CHECK_FALSE(allows("GitHub.com", FilterType::fnmatch, "github.com", true));
}

TEST_CASE("port=N after a pattern narrows the rule to that port", "[filter]") {
    auto f = Filter::parse("^git\\.example$ port=22  # ssh\n^web\\.example$\n"
                           "^db\\.example$\tport=5432 extra\n",
                           "f", {});
    REQUIRE(f.has_value());
    REQUIRE(f->rules().size() == 3);
    CHECK(f->rules()[0].port == 22);
    CHECK_FALSE(f->rules()[1].port.has_value());
    CHECK(f->rules()[2].port == 5432);
    // Only the unknown text is warned about, not port=N or the comment.
    REQUIRE(f->warnings().size() == 1);
    CHECK(f->warnings()[0].starts_with("f:3: warning: 'extra'"));
    CHECK(f->match("git.example", 22) == &f->rules()[0]);
    CHECK(f->match("git.example", 443) == nullptr);
    CHECK(f->match("git.example", 22, true) == &f->rules()[0]);
    CHECK(f->match("web.example", 443) == &f->rules()[1]);
    CHECK(f->match("web.example", 22, true) == nullptr); // no rule names port 22 for it
    CHECK(f->match("git.example") == &f->rules()[0]);    // whatever the port

    for (const char* bad : {"^a$ port=0\n", "^a$ port=65536\n", "^a$ port=x\n", "^a$ port=\n"}) {
        CAPTURE(bad);
        auto b = Filter::parse(bad, "p.txt", {});
        REQUIRE_FALSE(b.has_value());
        CHECK(b.error().starts_with("p.txt:1: port="));
    }
}

TEST_CASE("bad patterns fail with FILE:LINE", "[filter]") {
    auto bre = Filter::parse("ok\n\n\\(unclosed\n", "/etc/cell/filter", {});
    REQUIRE_FALSE(bre.has_value());
    CHECK(bre.error().starts_with("/etc/cell/filter:3: bad bre pattern '\\(unclosed'"));
    auto ere = Filter::parse("a[b\n", "x", {FilterType::ere, false});
    REQUIRE_FALSE(ere.has_value());
    CHECK(ere.error().starts_with("x:1: bad ere pattern"));
    CHECK_FALSE(Filter::load("/nonexistent/filter", {}).has_value());
}

TEST_CASE("warnings name what an unanchored pattern also matches", "[filter]") {
    CHECK(pattern_warnings("^github\\.com$", FilterType::bre).empty());
    CHECK(pattern_warnings("github\\.com", FilterType::bre).size() == 2);
    CHECK(pattern_warnings("^github.com$", FilterType::bre).size() == 1);
    CHECK(pattern_warnings("^.*\\.github\\.com$", FilterType::bre).empty());
    CHECK(pattern_warnings("^[.]x$", FilterType::bre).empty());
    CHECK(pattern_warnings("*.github.com", FilterType::fnmatch).empty());
    CHECK(pattern_warnings("*github.com", FilterType::fnmatch).size() == 1);
    CHECK(pattern_warnings("github.*", FilterType::fnmatch).size() == 1);
    auto f = Filter::parse("github\\.com\n", "flt", {});
    REQUIRE(f.has_value());
    REQUIRE_FALSE(f->warnings().empty());
    CHECK(f->warnings()[0].starts_with("flt:1: warning:"));
}

TEST_CASE("parse_filter_type", "[filter]") {
    CHECK(*parse_filter_type("bre") == FilterType::bre);
    CHECK(*parse_filter_type("ere") == FilterType::ere);
    CHECK(*parse_filter_type("fnmatch") == FilterType::fnmatch);
    CHECK_FALSE(parse_filter_type("regex").has_value());
}
