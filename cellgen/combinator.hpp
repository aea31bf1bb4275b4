// A combinator is one record: name, signature, help text and an apply function
// that transforms a Jail. All records live in one table (registry.cpp) from
// which the option parser and `--help` are generated.
#pragma once

#include "cellgen/jail.hpp"
#include "cellgen/settings.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cellgen {

// One use of a combinator, with where it came from for error messages.
struct Invocation {
    std::string name;
    std::vector<std::string> args;
    std::string origin; // "--ro-bind" or "profile.ini:3"
};

// What combinators may read besides their arguments.
struct Context {
    Settings settings;
    EnvLookup env;
    // --print script: the caller's environment is the one the wrapper runs
    // in, not cellgen's (a Nix build renders it in a sandbox without the
    // user's variables), so fwd-env/try-fwd-env are left to the launcher.
    bool defer_caller_env = false;
    // --print script/plan: `env` is the renderer's, not the caller's (who
    // runs the wrapper later), so nothing is taken from it (HOME, caches).
    bool renderer_env = false;
};

using ApplyFn = void (*)(Jail&, const Invocation&, const Context&);

struct Combinator {
    std::string name;
    std::string signature; // e.g. "SRC DEST"
    std::string help;
    int min_args = 0;
    int max_args = 0; // -1: unbounded
    ApplyFn apply = nullptr;
};

// Throws UsageError "ORIGIN: NAME: message".
[[noreturn]] void fail(const Invocation& inv, std::string_view message);

} // namespace cellgen
