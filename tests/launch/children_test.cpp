// parent_of reads the parent pid from /proc/PID/stat, whose process name
// may hold spaces and parentheses; a pid that does not exist has none.
#include "launch/children.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

TEST_CASE("parent_of", "[children]") {
    CHECK(launch::parent_of(::getpid()) == ::getppid());
    CHECK(launch::parent_of(1) == 0); // init's parent is the kernel's 0
    CHECK_FALSE(launch::parent_of(0x3fffffff).has_value());
    CHECK_FALSE(launch::parent_of(-1).has_value());
}
