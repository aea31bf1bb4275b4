// The help lists every combinator from the one table, so it cannot fall
// behind the code.
#include "cellgen/help_text.hpp"

#include "cellgen/options.hpp"
#include "cellgen/profile.hpp"

#include <fmt/format.h>

#include <sstream>

namespace cellgen {

namespace {

// Greedy word wrap with a hanging indent.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width) {
    std::istringstream words(text);
    std::string out(indent, ' ');
    std::size_t col = indent;
    std::string word;
    bool first = true;
    while (words >> word) {
        if (!first && col + 1 + word.size() > width) {
            out += '\n';
            out.append(indent, ' ');
            col = indent;
            first = true;
        }
        if (!first) {
            out += ' ';
            ++col;
        }
        out += word;
        col += word.size();
        first = false;
    }
    out += '\n';
    return out;
}

std::string settings_help() {
    std::ostringstream out;
    out << cli_options() << "\n" << profile_options({});
    return out.str();
}

} // namespace

std::string help_text(const std::vector<Combinator>& table) {
    std::string out =
        "usage: cellgen [OPTIONS] [COMBINATOR FLAGS] [-- COMMAND [ARGS...]]\n\n"
        "Renders a bubblewrap jail (\"cell\") from an ordered list of combinators: the\n"
        "profile's (--profile FILE, or the embedded default) then the flags'. Each\n"
        "combinator is also a flag (--NAME ARGS...) and a profile key (NAME = ARGS).\n\n";
    out += settings_help();
    out += "\nCombinators (in a profile: `name = ARGS`; zero-argument ones: `name =`):\n";
    for (const auto& c : table) {
        out += fmt::format("  --{}{}{}\n", c.name, c.signature.empty() ? "" : " ", c.signature);
        out += wrap(c.help, 6, 80);
    }
    out += "\nEmbedded default profile:\n";
    std::istringstream profile(kDefaultProfileText);
    for (std::string line; std::getline(profile, line);) {
        out += "  " + line + "\n";
    }
    out += "\nExit status: 0 on success, 2 on a usage error (one line naming the flag or\n"
           "FILE:LINE at fault; nothing is created).\n";
    return out;
}

} // namespace cellgen
