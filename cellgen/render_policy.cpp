// The policy a plan enforces, as `#` comment lines: `--print shell` starts
// with them and `--print argv` writes them on stderr (its stdout stays one
// argument per line). bwrap's options alone do not show the policy: it
// lives in the daemons the launcher starts, and a pasted bwrap command has
// none of them, which the first line says.
#include "cellgen/render.hpp"

#include "cellgen/shell_quote.hpp"

#include <fmt/format.h>

namespace cellgen {

namespace {

// The values that follow `flag` in a daemon's argv.
std::vector<std::string> values_of(const Args& argv, std::string_view flag) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        const auto* word = std::get_if<std::string>(&argv[i]);
        const auto* next = std::get_if<std::string>(&argv[i + 1]);
        if (word && next && *word == flag) {
            out.push_back(*next);
        }
    }
    return out;
}

bool has_word(const Args& argv, std::string_view flag) {
    for (const auto& a : argv) {
        if (const auto* word = std::get_if<std::string>(&a); word && *word == flag) {
            return true;
        }
    }
    return false;
}

// One comment line: a control character in a pattern or notice must not
// end the comment and turn the rest into a command.
std::string comment(std::string text) {
    for (auto& c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = ' ';
        }
    }
    std::string line("# ");
    line.append(text);
    line.push_back('\n');
    return line;
}

std::string list_or(const std::vector<std::string>& items, std::string_view none) {
    return items.empty() ? std::string(none) : fmt::format("{}", fmt::join(items, " "));
}

} // namespace

std::string policy_comment(const Plan& plan, const RenderOptions& opts) {
    std::string out = comment(fmt::format(
        "cellgen {}: the jail only. `cell`, or the wrapper of --print script, starts the "
        "daemons below first; pasted as is, this command runs with none of them (no proxy: "
        "HTTP(S) fails; no nix daemon).",
        opts.version));
    const Daemon* proxy = nullptr;
    for (const auto& d : plan.daemons) {
        if (d.name == "proxy") {
            proxy = &d;
        }
    }
    if (proxy == nullptr) {
        out += comment("network: none (no proxy in this plan)");
    } else {
        const auto& argv = proxy->argv;
        auto allow = values_of(argv, "--allow");
        auto filter = values_of(argv, "--filter");
        std::string domains;
        if (!has_word(argv, "--default-deny")) {
            domains = "every domain (--allow-all)";
        } else if (allow.empty() && filter.empty()) {
            domains = "none (deny by default)";
        } else {
            domains = list_or(allow, "");
            if (!filter.empty()) {
                domains += fmt::format("{}filter {}", allow.empty() ? "" : "; ", filter.front());
            }
        }
        auto ports = values_of(argv, "--connect-port");
        // Listeners in fd order: HTTP, SOCKS5 if any, then the forwards.
        const auto& listens = proxy->jail_listen;
        auto port_at = [&](std::size_t i) { return i < listens.size() ? listens[i].port : 0; };
        std::string served = fmt::format("127.0.0.1:{} (HTTP)", port_at(0));
        std::size_t next = 1;
        if (has_word(argv, "--socks-listen")) {
            served += fmt::format(", 127.0.0.1:{} (SOCKS5)", port_at(next++));
        }
        for (const auto& f : values_of(argv, "--forward")) {
            served += fmt::format(", 127.0.0.1:{} (forward to {})", port_at(next++),
                                  f.substr(f.find('=') + 1));
        }
        out += comment(fmt::format("proxy: {} in the jail; domains allowed: {}; denied: {}", served,
                                   domains, list_or(values_of(argv, "--deny"), "none")));
        out += comment(fmt::format(
            "addresses: loopback, private, link-local and metadata refused, except: {}; "
            "CONNECT ports: {}",
            list_or(values_of(argv, "--allow-cidr"), "none"), list_or(ports, "80 443")));
    }
    for (const auto& d : plan.daemons) {
        std::string words;
        for (const auto& a : d.argv) {
            if (!words.empty()) {
                words.push_back(' ');
            }
            words.append(shell_word(a, opts.runtime_dir));
        }
        out += comment(fmt::format("daemon {} ({}): {}", d.name, d.mode, words));
    }
    if (!plan.masks.empty()) {
        out += comment(fmt::format("masks (matched by the launcher as the cell starts, so not in "
                                   "this command): {}",
                                   fmt::join(plan.masks, " ")));
    }
    for (const auto& notice : plan.notices) {
        out += comment("notice: " + notice);
    }
    return out;
}

} // namespace cellgen
