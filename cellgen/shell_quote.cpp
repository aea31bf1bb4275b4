// Words made only of characters that are never special to bash stay bare, so
// the output reads like a hand-written command; everything else is single
// quoted, which bash takes literally (newlines and non-ASCII bytes included).
#include "cellgen/shell_quote.hpp"

namespace cellgen {

namespace {

bool is_plain(std::string_view word) {
    if (word.empty()) {
        return false;
    }
    for (unsigned char c : word) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == ',' ||
                  c == '+' || c == '@' || c == '%';
        if (!ok) {
            return false;
        }
    }
    return true;
}

} // namespace

std::string shell_quote(std::string_view word) {
    if (is_plain(word)) {
        return std::string(word);
    }
    std::string out = "'";
    for (char c : word) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

std::string shell_word(const Arg& arg, const std::optional<std::string>& runtime_dir) {
    const auto* path = std::get_if<RuntimePath>(&arg);
    if (path == nullptr || runtime_dir) {
        return shell_quote(arg_text(arg, RuntimeDir{runtime_dir.value_or("")}));
    }
    std::string out;
    if (!path->text_before.empty()) {
        out = shell_quote(path->text_before);
    }
    return out + "\"$CELL_RT\"" + shell_quote("/" + path->rel);
}

} // namespace cellgen
