// See public_suffix.hpp. The list's format: one rule per line, `//`
// comments, `*.` wildcard rules and `!` exceptions; a rule ends at the
// first blank.
#include "policy/public_suffix.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace policy {

PublicSuffixes PublicSuffixes::parse(std::string_view text) {
    PublicSuffixes out;
    auto owned = std::make_shared<const std::string>(text);
    out.text_ = *owned;
    out.storage_ = std::move(owned);
    return out;
}

PublicSuffixes PublicSuffixes::load(const std::string& path) {
    PublicSuffixes out;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return out;
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        auto size = static_cast<std::size_t>(st.st_size);
        void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED) {
            out.text_ = std::string_view(static_cast<const char*>(map), size);
            out.storage_ = std::shared_ptr<const void>(
                map, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
        }
    }
    ::close(fd);
    return out;
}

// A line that is `rule` (comments start with "//", which no rule does).
bool PublicSuffixes::contains(std::string_view rule) const {
    auto ends_rule = [&](std::size_t end) {
        return end == text_.size() || text_.find_first_of(" \t\r\n", end) == end;
    };
    if (text_.starts_with(rule) && ends_rule(rule.size()))
        return true;
    std::string line = "\n";
    line.append(rule);
    for (auto at = text_.find(line); at != std::string_view::npos; at = text_.find(line, at + 1)) {
        if (ends_rule(at + line.size()))
            return true;
    }
    return false;
}

bool PublicSuffixes::is_public_suffix(std::string_view domain) const {
    if (domain.find('.') == std::string_view::npos)
        return true; // every TLD, listed or not
    std::string d(domain);
    if (contains(d))
        return true;
    if (contains("!" + d))
        return false;
    auto parent = d.substr(d.find('.') + 1);
    return contains("*." + parent);
}

} // namespace policy
