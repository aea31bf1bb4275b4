// AcceptFailures: one report per run of failed accepts over every event
// loop, including the orders in which two loops' outcomes can arrive.
#include "net/accept_failures.hpp"

#include <catch2/catch.hpp>

using relay::AcceptFailures;

TEST_CASE("accept failures: a run is reported once and its recovery once") {
    AcceptFailures f;
    CHECK(f.succeeded(f.ticket()) == 0); // no run: nothing to report
    CHECK(f.failed(f.ticket()));         // starts the run
    CHECK_FALSE(f.failed(f.ticket()));   // retries stay quiet
    CHECK_FALSE(f.failed(f.ticket()));
    CHECK(f.succeeded(f.ticket()) == 3); // ends it, with its count
    CHECK(f.succeeded(f.ticket()) == 0);
    CHECK(f.failed(f.ticket())); // a later run is a new report
    CHECK(f.succeeded(f.ticket()) == 1);
}

TEST_CASE("accept failures: a success issued before the run does not end it") {
    // Loop A's accept succeeds first, loop B's fails, but B's bookkeeping
    // runs first: A's stale success must not end B's run, or B's next
    // retry would report a second run.
    AcceptFailures f;
    const auto a = f.ticket();
    const auto b = f.ticket();
    CHECK(f.failed(b));
    CHECK(f.succeeded(a) == 0);
    CHECK_FALSE(f.failed(f.ticket())); // B's retry: still the one run
    CHECK(f.succeeded(f.ticket()) == 2);
}

TEST_CASE("accept failures: a failure issued before the recovery starts no run") {
    // Both loops retry in the run; A's accept succeeds as a descriptor
    // frees, B's had failed just before, and A's bookkeeping runs first.
    AcceptFailures f;
    CHECK(f.failed(f.ticket()));
    const auto a = f.ticket();
    const auto b = f.ticket();
    CHECK(f.succeeded(a) == 1);
    CHECK_FALSE(f.failed(b)); // stale: no second report
    CHECK(f.succeeded(f.ticket()) == 0);
    // A failure issued after the recovery is a new run.
    CHECK(f.failed(f.ticket()));
}

TEST_CASE("accept failures: two loops failing at once start one run") {
    AcceptFailures f;
    const auto a = f.ticket();
    const auto b = f.ticket();
    CHECK(f.failed(a));
    CHECK_FALSE(f.failed(b));
    const auto c = f.ticket();
    const auto d = f.ticket();
    CHECK(f.succeeded(c) == 2);
    CHECK(f.succeeded(d) == 0); // only one recovery line
}
