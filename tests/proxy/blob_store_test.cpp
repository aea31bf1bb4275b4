// The image cache's blob store on real files: what is kept, what is refused
// and leaves nothing behind, what is evicted, and the modes it all gets.
#include "proxy/blob_store.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace proxy;
namespace fs = std::filesystem;

namespace {

// One scratch directory per test, removed with everything in it.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/blob_store_test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string sha256_hex(std::string_view bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    REQUIRE(EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) == 1);
    std::string out;
    char two[3];
    for (unsigned i = 0; i < n; ++i) {
        std::snprintf(two, sizeof two, "%02x", md[i]);
        out += two;
    }
    return out;
}

// Distinct, non-repeating-looking bytes, so a flipped byte or a chunk
// boundary mistake changes the hash.
std::string content(std::size_t size, unsigned seed) {
    std::string s(size, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& c : s) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return s;
}

std::string store(BlobStore& bs, const std::string& bytes) {
    auto hex = sha256_hex(bytes);
    std::string problem;
    auto w = bs.begin(hex, bytes.size(), problem);
    REQUIRE(w);
    REQUIRE(w->write(std::span(bytes.data(), bytes.size())));
    REQUIRE(w->commit(problem));
    CHECK(problem.empty());
    return hex;
}

std::string read_all(const Blob& b) {
    std::string out(b.size(), '\0');
    std::size_t off = 0;
    while (off < out.size()) {
        auto n = ::pread(b.fd(), out.data() + off, out.size() - off, static_cast<off_t>(off));
        REQUIRE(n > 0);
        off += static_cast<std::size_t>(n);
    }
    return out;
}

std::size_t count(const fs::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir))
        ++n;
    return n;
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

void set_mtime_ago(const fs::path& p, std::time_t seconds) {
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = std::time(nullptr) - seconds;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
}

std::time_t mtime_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mtim.tv_sec;
}

bool contains(const std::string& s, std::string_view part) {
    return s.find(part) != std::string::npos;
}

const std::string zeros(64, '0');

} // namespace

TEST_CASE("valid_digest takes 64 lowercase hex digits only", "[blob_store]") {
    struct Case {
        std::string hex;
        bool valid;
    };
    auto c = GENERATE(values<Case>({
        {std::string(64, '0'), true},
        {std::string(64, 'f'), true},
        {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true},
        {"", false},
        {std::string(63, 'a'), false},
        {std::string(65, 'a'), false},
        {std::string(63, 'a') + "A", false},
        {std::string(63, 'a') + "g", false},
        {"sha256:" + std::string(57, 'a'), false},
        {std::string(63, 'a') + " ", false},
        {std::string(32, 'a') + "/" + std::string(31, 'a'), false},
        {"../" + std::string(61, 'a'), false},
    }));
    CAPTURE(c.hex);
    CHECK(BlobStore::valid_digest(c.hex) == c.valid);
}

TEST_CASE("a committed blob reads back with its bytes and size", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path() / "cache", 64 << 20);
    CHECK(bs.dir() == t.path() / "cache");
    // Empty, small, and across several hash chunks written in odd pieces.
    auto size =
        GENERATE(std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{(3 << 20) + 17});
    CAPTURE(size);
    auto bytes = content(size, 7);
    auto hex = sha256_hex(bytes);
    std::string problem;
    auto w = bs.begin(hex, size, problem);
    REQUIRE(w);
    for (std::size_t off = 0; off < bytes.size(); off += 65537) {
        auto n = std::min<std::size_t>(65537, bytes.size() - off);
        REQUIRE(w->write(std::span(bytes.data() + off, n)));
    }
    CHECK(w->written() == size);
    REQUIRE(w->commit(problem));
    CHECK(problem.empty());
    CHECK(count(t.path() / "cache" / "tmp") == 0);

    auto blob = bs.open_verified(hex, problem);
    REQUIRE(blob);
    CHECK(problem.empty());
    CHECK(blob->size() == size);
    CHECK(read_all(*blob) == bytes);

    // Unknown size (0) works too.
    auto again = content(500, 8);
    auto hex2 = sha256_hex(again);
    auto w2 = bs.begin(hex2, 0, problem);
    REQUIRE(w2);
    REQUIRE(w2->write(std::span(again.data(), again.size())));
    REQUIRE(w2->commit(problem));
    auto blob2 = bs.open_verified(hex2, problem);
    REQUIRE(blob2);
    CHECK(read_all(*blob2) == again);
}

TEST_CASE("bytes that do not hash to the name are not stored", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1 << 20);
    auto bytes = content(4096, 1);
    auto named = sha256_hex(content(4096, 2));
    std::string problem;
    auto w = bs.begin(named, bytes.size(), problem);
    REQUIRE(w);
    REQUIRE(w->write(std::span(bytes.data(), bytes.size())));
    CHECK_FALSE(w->commit(problem));
    CAPTURE(problem);
    CHECK(contains(problem, "not stored"));
    CHECK(contains(problem, "sha256:" + sha256_hex(bytes)));
    CHECK(count(t.path() / "sha256") == 0);
    CHECK(count(t.path() / "tmp") == 0);
    CHECK_FALSE(bs.open_verified(named, problem));
}

TEST_CASE("a body of another size than expected is not stored", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1 << 20);
    auto bytes = content(1000, 3);
    auto hex = sha256_hex(bytes);
    auto expected = GENERATE(std::uint64_t{999}, std::uint64_t{1001});
    CAPTURE(expected);
    std::string problem;
    auto w = bs.begin(hex, expected, problem);
    REQUIRE(w);
    w->write(std::span(bytes.data(), bytes.size()));
    CHECK_FALSE(w->commit(problem));
    CAPTURE(problem);
    CHECK(contains(problem, "not stored"));
    CHECK(contains(problem, std::to_string(expected)));
    CHECK(count(t.path() / "sha256") == 0);
    CHECK(count(t.path() / "tmp") == 0);
}

TEST_CASE("a blob larger than the whole cache is not stored", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1024);
    auto bytes = content(2048, 4);
    auto hex = sha256_hex(bytes);
    std::string problem;

    SECTION("known up front") {
        CHECK_FALSE(bs.begin(hex, bytes.size(), problem));
        CAPTURE(problem);
        CHECK(contains(problem, "not stored"));
        CHECK(contains(problem, "exceed"));
        CHECK(contains(problem, "2048"));
        CHECK(contains(problem, "1024"));
    }
    SECTION("found out while writing") {
        auto w = bs.begin(hex, 0, problem);
        REQUIRE(w);
        CHECK(w->write(std::span(bytes.data(), 1000)));
        CHECK_FALSE(w->write(std::span(bytes.data() + 1000, 1048)));
        CHECK_FALSE(w->write(std::span(bytes.data(), 1))); // stays failed
        CHECK(count(t.path() / "tmp") == 0);               // dropped at once
        CHECK_FALSE(w->commit(problem));
        CAPTURE(problem);
        CHECK(contains(problem, "not stored"));
        CHECK(contains(problem, "exceed"));
    }
    CHECK(count(t.path() / "sha256") == 0);
    CHECK(count(t.path() / "tmp") == 0);
}

TEST_CASE("an invalid digest is refused", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1 << 20);
    std::string problem;
    CHECK_FALSE(bs.begin("../etc/passwd", 0, problem));
    CHECK(contains(problem, "not stored"));
    problem.clear();
    CHECK_FALSE(bs.open_verified(std::string(64, 'A'), problem));
    CHECK_FALSE(problem.empty());
}

TEST_CASE("a corrupt blob on disk is removed, not served", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1 << 20);
    auto bytes = content(100000, 5);
    auto hex = store(bs, bytes);
    auto path = t.path() / "sha256" / hex;
    {
        int fd = ::open(path.c_str(), O_RDWR);
        REQUIRE(fd >= 0);
        char c = static_cast<char>(bytes[54321] ^ 1);
        REQUIRE(::pwrite(fd, &c, 1, 54321) == 1);
        ::close(fd);
    }
    std::string problem;
    CHECK_FALSE(bs.open_verified(hex, problem));
    CAPTURE(problem);
    CHECK(contains(problem, "is corrupt"));
    CHECK(contains(problem, path.string()));
    CHECK_FALSE(fs::exists(path));
    // Gone now: a plain miss.
    problem.clear();
    CHECK_FALSE(bs.open_verified(hex, problem));
    CHECK(problem.empty());
}

TEST_CASE("an absent blob is a miss without a problem", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1 << 20);
    std::string problem;
    CHECK_FALSE(bs.open_verified(zeros, problem));
    CHECK(problem.empty());
}

TEST_CASE("the least recently used blob is evicted over the limit", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 2 * 1000);
    auto blobs = t.path() / "sha256";
    auto marks = t.path() / "verified"; // a seal's mtime is its blob's last use
    auto a = store(bs, content(1000, 10));
    auto b = store(bs, content(1000, 11));
    // A is the older one; only the hit below makes it recent.
    set_mtime_ago(marks / a, 300);
    set_mtime_ago(marks / b, 200);
    std::string problem;
    REQUIRE(bs.open_verified(a, problem));
    CHECK(mtime_of(marks / a) >= std::time(nullptr) - 5);
    auto c = store(bs, content(1000, 12));
    CHECK(fs::exists(blobs / a));
    CHECK_FALSE(fs::exists(blobs / b));
    CHECK_FALSE(fs::exists(marks / b)); // its seal goes with it
    CHECK(fs::exists(blobs / c));

    // The blob just stored is never the one evicted, however old it looks.
    set_mtime_ago(marks / a, 100);
    auto d_bytes = content(1000, 13);
    auto d = sha256_hex(d_bytes);
    auto w = bs.begin(d, d_bytes.size(), problem);
    REQUIRE(w);
    REQUIRE(w->write(std::span(d_bytes.data(), d_bytes.size())));
    set_mtime_ago(fs::directory_iterator(t.path() / "tmp")->path(), 1000);
    REQUIRE(w->commit(problem));
    CHECK(fs::exists(blobs / d));
    CHECK_FALSE(fs::exists(blobs / a));
    CHECK(fs::exists(blobs / c));
}

TEST_CASE("a stored blob is sealed; a read trusts the seal only while the file is unchanged",
          "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1 << 20);
    auto bytes = content(5000, 7);
    auto hex = store(bs, bytes);
    auto blob_path = t.path() / "sha256" / hex;
    auto mark = t.path() / "verified" / hex;
    REQUIRE(fs::exists(mark));
    // Sealed as it stands after the rename, so its first read is not a hash.
    struct stat st {};
    REQUIRE(::stat(blob_path.c_str(), &st) == 0);
    {
        std::ifstream in(mark);
        unsigned long long ino = 0;
        long long size = 0, csec = 0, cnsec = 0;
        in >> ino >> size >> csec >> cnsec;
        CHECK(ino == st.st_ino);
        CHECK(size == st.st_size);
        CHECK(csec == st.st_ctim.tv_sec);
        CHECK(cnsec == st.st_ctim.tv_nsec);
    }
    std::string problem;
    auto blob = bs.open_verified(hex, problem);
    REQUIRE(blob);
    CHECK(blob->size() == bytes.size());

    // No seal: hashed again, served, sealed again.
    fs::remove(mark);
    blob = bs.open_verified(hex, problem);
    REQUIRE(blob);
    CHECK(problem.empty());
    CHECK(fs::exists(mark));

    // A write, with the mtime put back as the seal had it: the change time
    // still gives it away, and the blob is hashed, found wrong, removed.
    struct stat before {};
    REQUIRE(::stat(blob_path.c_str(), &before) == 0);
    // Timestamps move in clock ticks (a few ms): a tamperer who also puts
    // the mtime back within the seal's own tick would go unseen.
    ::usleep(50 * 1000);
    {
        int fd = ::open(blob_path.c_str(), O_WRONLY);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, "Z", 1, 10) == 1);
        const struct timespec times[2] = {before.st_atim, before.st_mtim};
        REQUIRE(::futimens(fd, times) == 0);
        ::close(fd);
    }
    blob = bs.open_verified(hex, problem);
    CHECK_FALSE(blob);
    CHECK(contains(problem, "is corrupt"));
    CHECK_FALSE(fs::exists(blob_path));
    CHECK_FALSE(fs::exists(mark));
}

TEST_CASE("an uncommitted writer leaves nothing behind", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1 << 20);
    auto bytes = content(5000, 6);
    auto hex = sha256_hex(bytes);
    std::string problem;
    {
        auto w = bs.begin(hex, bytes.size(), problem);
        REQUIRE(w);
        REQUIRE(w->write(std::span(bytes.data(), bytes.size())));
        CHECK(count(t.path() / "tmp") == 1);
    }
    CHECK(count(t.path() / "tmp") == 0);
    CHECK(count(t.path() / "sha256") == 0);

    // Moving hands the file over: one writer, one file, committed once.
    {
        auto w = bs.begin(hex, bytes.size(), problem);
        REQUIRE(w);
        REQUIRE(w->write(std::span(bytes.data(), 100)));
        BlobStore::Writer moved(std::move(*w));
        w.reset();
        CHECK(count(t.path() / "tmp") == 1);
        REQUIRE(moved.write(std::span(bytes.data() + 100, bytes.size() - 100)));
        auto other = bs.begin(zeros, 0, problem);
        REQUIRE(other);
        CHECK(count(t.path() / "tmp") == 2);
        *other = std::move(moved); // discards the zeros writer's file
        CHECK(count(t.path() / "tmp") == 1);
        REQUIRE(other->commit(problem));
        CHECK_FALSE(other->commit(problem));
        CHECK(contains(problem, "not stored"));
    }
    CHECK(count(t.path() / "tmp") == 0);
    CHECK(count(t.path() / "sha256") == 1);
}

TEST_CASE("two writers of one digest both commit", "[blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1 << 20);
    BlobStore other(t.path(), 1 << 20); // another proxy on the same directory
    auto bytes = content(3000, 9);
    auto hex = sha256_hex(bytes);
    std::string problem;
    auto w1 = bs.begin(hex, bytes.size(), problem);
    auto w2 = other.begin(hex, bytes.size(), problem);
    REQUIRE(w1);
    REQUIRE(w2);
    REQUIRE(w1->write(std::span(bytes.data(), bytes.size())));
    REQUIRE(w2->write(std::span(bytes.data(), bytes.size())));
    CHECK(w1->commit(problem));
    CHECK(w2->commit(problem));
    CHECK(count(t.path() / "sha256") == 1);
    CHECK(count(t.path() / "tmp") == 0);
    auto blob = other.open_verified(hex, problem);
    REQUIRE(blob);
    CHECK(read_all(*blob) == bytes);
}

TEST_CASE("directories are 0700 and blobs 0600", "[blob_store]") {
    TempDir t;
    // Whatever the umask says.
    auto old = ::umask(0);
    auto dir = t.path() / "a" / "b" / "cache";
    std::string hex;
    {
        BlobStore bs(dir, 1 << 20);
        hex = store(bs, content(10, 1));
    }
    ::umask(old);
    CHECK(mode_of(t.path() / "a") == 0700);
    CHECK(mode_of(t.path() / "a" / "b") == 0700);
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(dir / "sha256") == 0700);
    CHECK(mode_of(dir / "tmp") == 0700);
    CHECK(mode_of(dir / "sha256" / hex) == 0600);
}

TEST_CASE("a store cannot be opened where a file is", "[blob_store]") {
    TempDir t;
    auto file = t.path() / "file";
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    ::close(fd);
    try {
        BlobStore bs(file / "cache", 1 << 20);
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CAPTURE(e.what());
        CHECK(contains(e.what(), file.string()));
        CHECK(contains(e.what(), std::strerror(ENOTDIR)));
    }
}

TEST_CASE("a crashed writer's stale temporary file is removed on open", "[blob_store]") {
    TempDir t;
    { BlobStore first(t.path(), 1 << 20); }
    auto stale = t.path() / "tmp" / (zeros + ".abcdef");
    auto fresh = t.path() / "tmp" / (zeros + ".ghijkl");
    for (const auto& p : {stale, fresh}) {
        int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0600);
        REQUIRE(fd >= 0);
        ::close(fd);
    }
    set_mtime_ago(stale, 2 * 60 * 60);
    set_mtime_ago(fresh, 30 * 60); // a live, slow writer's
    BlobStore bs(t.path(), 1 << 20);
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(fresh));
}

// Hidden (run with "[.speed]"): how fast a hit is verified, 100 MiB hot in
// the page cache.
TEST_CASE("verifying 100 MiB", "[.speed][blob_store]") {
    TempDir t;
    BlobStore bs(t.path(), 1ULL << 30);
    auto bytes = content(100 << 20, 42);
    auto hex = store(bs, bytes);
    std::string problem;
    REQUIRE(bs.open_verified(hex, problem)); // warm the page cache
    auto start = std::chrono::steady_clock::now();
    constexpr int rounds = 5;
    for (int i = 0; i < rounds; ++i)
        REQUIRE(bs.open_verified(hex, problem));
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    double per = took.count() / rounds;
    WARN("100 MiB verified in " << per * 1000 << " ms: " << (100.0 * (1 << 20)) / per / 1e9
                                << " GB/s");
}
