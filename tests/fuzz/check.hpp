// Property checks inside fuzz targets. A failed property aborts, so that
// libFuzzer saves the input and the replay driver fails, in every build type
// (assert() is compiled out of release builds, which the replay tests use).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace fuzz {

[[noreturn]] inline void property_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: property failed: %s\n", file, line, what);
    std::abort();
}

} // namespace fuzz

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::fuzz::property_failed(#cond, __FILE__, __LINE__))
