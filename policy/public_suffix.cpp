// See public_suffix.hpp. The list's format: one rule per line, `//`
// comments, `*.` wildcard rules and `!` exceptions.
#include "policy/public_suffix.hpp"

#include <fstream>
#include <sstream>

namespace policy {

PublicSuffixes PublicSuffixes::parse(std::string_view text) {
    PublicSuffixes out;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        auto end = line.find_first_of(" \t\r");
        line = line.substr(0, end);
        if (line.empty() || line.starts_with("//"))
            continue;
        out.rules_.insert(line);
    }
    return out;
}

PublicSuffixes PublicSuffixes::load(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        return {};
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str());
}

bool PublicSuffixes::is_public_suffix(std::string_view domain) const {
    if (domain.find('.') == std::string_view::npos)
        return true; // every TLD, listed or not
    std::string d(domain);
    if (rules_.contains(d))
        return true;
    if (rules_.contains("!" + d))
        return false;
    auto parent = d.substr(d.find('.') + 1);
    return rules_.contains("*." + parent);
}

} // namespace policy
