// Bind mounts: ro-bind, bind, dev-bind and their try- variants (bwrap's
// -try flags: a missing source is skipped instead of failing the cell).
#include "cellgen/combinators/combinators.hpp"

#include "cellgen/validate.hpp"

namespace cellgen {

namespace {

// DEST defaults to SRC, as a jail path.
Args bind_args(const Invocation& inv) {
    const std::string& src = inv.args.at(0);
    const std::string& dest = inv.args.size() > 1 ? inv.args[1] : src;
    if (src.empty()) {
        fail(inv, "empty source path");
    }
    std::string jail_dest = jail_path_arg(inv, dest);
    return {absolute_host_path(src), jail_dest};
}

template <const char* Flag>
void apply_bind(Jail& jail, const Invocation& inv, const Context&) {
    jail.mount(Flag, bind_args(inv));
}

constexpr char kRoBind[] = "--ro-bind";
constexpr char kBind[] = "--bind";
constexpr char kDevBind[] = "--dev-bind";
constexpr char kRoBindTry[] = "--ro-bind-try";
constexpr char kBindTry[] = "--bind-try";
constexpr char kDevBindTry[] = "--dev-bind-try";

} // namespace

std::vector<Combinator> bind_combinators() {
    const char* sig = "SRC [DEST]";
    return {
        {"ro-bind", sig, "Bind host SRC read-only at jail DEST (default: the same path).", 1, 2,
         apply_bind<kRoBind>},
        {"bind", sig, "Bind host SRC read-write at jail DEST (default: the same path).", 1, 2,
         apply_bind<kBind>},
        {"dev-bind", sig, "Bind host SRC at jail DEST allowing device access.", 1, 2,
         apply_bind<kDevBind>},
        {"try-ro-bind", sig, "Like ro-bind, skipped when SRC does not exist.", 1, 2,
         apply_bind<kRoBindTry>},
        {"try-bind", sig, "Like bind, skipped when SRC does not exist.", 1, 2,
         apply_bind<kBindTry>},
        {"try-dev-bind", sig, "Like dev-bind, skipped when SRC does not exist.", 1, 2,
         apply_bind<kDevBindTry>},
    };
}

} // namespace cellgen
