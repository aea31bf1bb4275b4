// See blob_store.hpp.
#include "proxy/blob_store.hpp"
#include "proxy/private_dir.hpp"

#include "common/fd.hpp"

#include <fmt/format.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace proxy {

namespace {

namespace fs = std::filesystem;

// Big enough that the per-read cost vanishes next to hashing, small enough
// to stay in L2 while OpenSSL chews on it.
constexpr std::size_t hash_chunk = 1 << 20;
// A writer touches its temporary file with every write, so one left alone
// this long belongs to a process that died mid-download.
constexpr std::time_t stale_tmp_seconds = 60 * 60;

using common::Fd;

class Dir {
public:
    explicit Dir(DIR* d) : d_(d) {}
    ~Dir() {
        if (d_)
            ::closedir(d_);
    }
    Dir(const Dir&) = delete;
    Dir& operator=(const Dir&) = delete;
    DIR* get() const { return d_; }

private:
    DIR* d_;
};

[[noreturn]] void fail_errno(const fs::path& path, std::string_view what, int err) {
    throw std::runtime_error(path.string() + ": " + std::string(what) + ": " + std::strerror(err));
}

bool older(const struct timespec& a, const struct timespec& b) {
    return a.tv_sec != b.tv_sec ? a.tv_sec < b.tv_sec : a.tv_nsec < b.tv_nsec;
}

// Removes what crashed writers left behind. A live writer's file is newer
// than an hour unless its download stalled that long; if one is removed
// under it anyway, its rename fails and the blob is simply not stored.
void remove_stale(const fs::path& tmp) {
    Dir d(::opendir(tmp.c_str()));
    if (!d.get())
        fail_errno(tmp, "cannot open the directory", errno);
    std::time_t cutoff = std::time(nullptr) - stale_tmp_seconds;
    while (const dirent* e = ::readdir(d.get())) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..")
            continue;
        struct stat st {};
        if (::fstatat(::dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; // gone already: another process swept it or committed it
        if (S_ISREG(st.st_mode) && st.st_mtim.tv_sec < cutoff)
            ::unlinkat(::dirfd(d.get()), e->d_name, 0);
    }
}

// Deletes the least recently used blobs (and their seals) until those left fit in `limit`,
// sparing `keep` (just stored). Other processes evict concurrently: a file
// that vanished has left the total all the same. Best effort: what cannot
// be listed or removed now is tried again after the next commit.
void evict(const fs::path& blobs, const fs::path& markers, std::uint64_t limit,
           std::string_view keep) {
    struct Entry {
        struct timespec mtime;
        std::uint64_t size;
        std::string name;
    };
    Dir d(::opendir(blobs.c_str()));
    if (!d.get())
        return;
    int dfd = ::dirfd(d.get());
    std::vector<Entry> entries;
    std::uint64_t total = 0;
    while (const dirent* e = ::readdir(d.get())) {
        if (!BlobStore::valid_digest(e->d_name))
            continue;
        struct stat st {};
        if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        auto size = static_cast<std::uint64_t>(st.st_size);
        total += size;
        // A sealed blob's last use is its marker's mtime; an unsealed one's,
        // its own (when it was written).
        struct stat mark {};
        auto used = ::stat((markers / e->d_name).c_str(), &mark) == 0 ? mark.st_mtim : st.st_mtim;
        entries.push_back({used, size, e->d_name});
    }
    if (total <= limit)
        return;
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return older(a.mtime, b.mtime) || (!older(b.mtime, a.mtime) && a.name < b.name);
    });
    for (const auto& e : entries) {
        if (total <= limit)
            break;
        if (e.name == keep)
            continue;
        if (::unlinkat(dfd, e.name.c_str(), 0) == 0 || errno == ENOENT) {
            total -= e.size;
            ::unlink((markers / e.name).c_str());
        }
    }
}

std::string to_hex(const unsigned char* p, unsigned n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(2 * n, '\0');
    for (unsigned i = 0; i < n; ++i) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    return out;
}

// A fresh SHA-256 context, or null (OpenSSL out of memory, or a provider
// configuration without SHA-256).
EVP_MD_CTX* new_sha256() {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(ctx);
        return nullptr;
    }
    return ctx;
}

std::string final_hex(EVP_MD_CTX* ctx) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestFinal_ex(ctx, md, &n) != 1)
        return "(SHA-256 failed)";
    return to_hex(md, n);
}

// The seal: a blob hashed once is not hashed on every read. Sealing sets
// the blob's mtime to a fixed past instant (no write can produce it: a
// write stamps the current time) and records in DIR/verified/<hex> the
// inode, size and change time (ctime) that result. A read trusts the blob
// without hashing only while all of those still match: any write,
// truncation, replacement or time change through the kernel breaks the
// seal, and the blob is hashed again (and dropped if wrong). What a seal
// cannot see is a change that bypasses the kernel (a disk's bit rot);
// engines check every blob's digest themselves, so that would fail a pull,
// never change an image. The marker's own mtime is the blob's last use,
// which eviction goes by.
constexpr struct timespec sealed_mtime = {946684800, 0}; // 2000-01-01T00:00:00Z

std::string seal_text(const struct stat& st) {
    return fmt::format("{} {} {} {}\n", static_cast<unsigned long long>(st.st_ino),
                       static_cast<long long>(st.st_size),
                       static_cast<long long>(st.st_ctim.tv_sec),
                       static_cast<long>(st.st_ctim.tv_nsec));
}

bool is_sealed(const struct stat& st, const fs::path& marker) {
    if (st.st_mtim.tv_sec != sealed_mtime.tv_sec || st.st_mtim.tv_nsec != sealed_mtime.tv_nsec)
        return false;
    Fd fd(::open(marker.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0)
        return false;
    char buf[128];
    auto n = ::read(fd.get(), buf, sizeof buf);
    return n > 0 && std::string_view(buf, static_cast<std::size_t>(n)) == seal_text(st);
}

// Sets the sealed mtime on the blob open on `fd` and returns its stat as it
// then stands: what a seal records, if the blob still stands so once hashed.
bool stamp(int fd, struct stat& st) {
    const struct timespec times[2] = {{0, UTIME_OMIT}, sealed_mtime};
    return ::futimens(fd, times) == 0 && ::fstat(fd, &st) == 0;
}

// Writes the seal for a blob whose stat is `st`: best effort, an unsealed
// blob is only hashed again on its next read. The marker is written whole
// and renamed in, so a reader never sees half of one.
void write_seal(const struct stat& st, const fs::path& marker, const fs::path& tmp_dir) {
    std::string pattern = (tmp_dir / marker.filename()).string() + ".seal.XXXXXX";
    Fd out(::mkostemp(pattern.data(), O_CLOEXEC));
    if (out.get() < 0)
        return;
    auto text = seal_text(st);
    bool ok = ::write(out.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (out.close() != 0 || !ok || ::rename(pattern.c_str(), marker.c_str()) != 0)
        ::unlink(pattern.c_str());
}

} // namespace

void BlobStore::Writer::CtxFree::operator()(evp_md_ctx_st* c) const {
    EVP_MD_CTX_free(c);
}

Blob::Blob(Blob&& o) noexcept : fd_(std::exchange(o.fd_, -1)), size_(o.size_) {}

Blob& Blob::operator=(Blob&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        size_ = o.size_;
    }
    return *this;
}

Blob::~Blob() {
    if (fd_ >= 0)
        ::close(fd_);
}

BlobStore::BlobStore(fs::path dir, std::uint64_t limit)
    : dir_(std::move(dir)), blobs_(dir_ / "sha256"), markers_(dir_ / "verified"),
      tmp_(dir_ / "tmp"), limit_(limit) {
    if (dir_.empty())
        throw std::runtime_error("image cache: no directory given");
    make_private_dirs(dir_);
    make_private_dirs(blobs_);
    make_private_dirs(markers_);
    make_private_dirs(tmp_);
    remove_stale(tmp_);
}

bool BlobStore::valid_digest(std::string_view hex) {
    return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::optional<Blob> BlobStore::open_verified(std::string_view hex, std::string& problem) {
    if (!valid_digest(hex)) {
        problem = fmt::format("\"{}\" is not a sha256 digest (64 lowercase hex digits)", hex);
        return std::nullopt;
    }
    const fs::path path = blobs_ / hex;
    // O_NOFOLLOW: only files this store renamed in are served.
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) {
        if (errno != ENOENT)
            problem = path.string() + ": cannot open: " + std::strerror(errno);
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        problem = path.string() + ": cannot stat: " + std::strerror(errno);
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
        problem = path.string() + " is not a regular file";
        return std::nullopt;
    }
    const fs::path marker = markers_ / hex;
    if (is_sealed(st, marker)) {
        // A hit is a use: eviction goes by the marker's mtime. Failing to
        // mark it only makes the blob an earlier candidate for eviction.
        ::utimensat(AT_FDCWD, marker.c_str(), nullptr, 0);
        return Blob(fd.release(), static_cast<std::uint64_t>(st.st_size));
    }
    std::unique_ptr<EVP_MD_CTX, Writer::CtxFree> ctx(new_sha256());
    if (!ctx) {
        problem = path.string() + ": cannot start SHA-256 (OpenSSL)";
        return std::nullopt;
    }
    // Stamped before the hash, sealed after it only if nothing changed the
    // file meanwhile: a write during the hash is never sealed as verified.
    struct stat stamped {};
    bool sealable = stamp(fd.get(), stamped);
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    auto buf = std::make_unique_for_overwrite<char[]>(hash_chunk);
    std::uint64_t size = 0;
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.get(), hash_chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            problem = path.string() + ": cannot read: " + std::strerror(errno);
            return std::nullopt;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx.get(), buf.get(), static_cast<std::size_t>(n));
        size += static_cast<std::uint64_t>(n);
    }
    auto actual = final_hex(ctx.get());
    if (actual != hex) {
        problem = "blob file " + path.string() + " is corrupt (its " + std::to_string(size) +
                  " bytes hash to sha256:" + actual + ")";
        // Remove only the file that was read: another process may have
        // renamed a good copy in meanwhile.
        struct stat now {};
        if (::lstat(path.c_str(), &now) == 0 && now.st_dev == st.st_dev &&
            now.st_ino == st.st_ino) {
            ::unlink(marker.c_str());
            if (::unlink(path.c_str()) == 0)
                problem += "; removed it";
            else if (errno != ENOENT)
                problem += std::string("; cannot remove it: ") + std::strerror(errno);
        }
        return std::nullopt;
    }
    struct stat after {};
    if (sealable && ::fstat(fd.get(), &after) == 0 && seal_text(after) == seal_text(stamped))
        write_seal(after, marker, tmp_);
    return Blob(fd.release(), size);
}

std::optional<BlobStore::Writer> BlobStore::begin(std::string_view hex, std::uint64_t expected_size,
                                                  std::string& problem) {
    if (!valid_digest(hex)) {
        problem = "blob \"" + std::string(hex) +
                  "\" not stored: its name is not a sha256 digest (64 lowercase hex digits)";
        return std::nullopt;
    }
    const std::string prefix = "blob sha256:" + std::string(hex) + " not stored: ";
    if (expected_size > limit_) {
        problem = prefix + "its " + std::to_string(expected_size) +
                  " bytes exceed the cache limit of " + std::to_string(limit_);
        return std::nullopt;
    }
    std::unique_ptr<EVP_MD_CTX, Writer::CtxFree> ctx(new_sha256());
    if (!ctx) {
        problem = prefix + "cannot start SHA-256 (OpenSSL)";
        return std::nullopt;
    }
    std::string pattern = (tmp_ / hex).string() + ".XXXXXX";
    int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) {
        problem = prefix + "cannot create a temporary file in " + tmp_.string() + ": " +
                  std::strerror(errno);
        return std::nullopt;
    }
    ::fchmod(fd, 0600); // mkostemp's mode already; the umask could only narrow it
    return Writer(blobs_, markers_, fs::path(pattern), std::string(hex), expected_size, limit_, fd,
                  std::move(ctx));
}

BlobStore::Writer::Writer(fs::path blobs, fs::path markers, fs::path tmp_path, std::string hex,
                          std::uint64_t expected, std::uint64_t limit, int fd,
                          std::unique_ptr<evp_md_ctx_st, CtxFree> ctx)
    : blobs_(std::move(blobs)), markers_(std::move(markers)), tmp_path_(std::move(tmp_path)),
      hex_(std::move(hex)), expected_(expected), limit_(limit), fd_(fd), ctx_(std::move(ctx)) {}

BlobStore::Writer::Writer(Writer&& o) noexcept
    : blobs_(std::move(o.blobs_)), markers_(std::move(o.markers_)),
      tmp_path_(std::move(o.tmp_path_)), hex_(std::move(o.hex_)), expected_(o.expected_),
      limit_(o.limit_), written_(o.written_), fd_(std::exchange(o.fd_, -1)),
      ctx_(std::move(o.ctx_)), failure_(std::move(o.failure_)) {}

BlobStore::Writer& BlobStore::Writer::operator=(Writer&& o) noexcept {
    if (this != &o) {
        discard();
        blobs_ = std::move(o.blobs_);
        markers_ = std::move(o.markers_);
        tmp_path_ = std::move(o.tmp_path_);
        hex_ = std::move(o.hex_);
        expected_ = o.expected_;
        limit_ = o.limit_;
        written_ = o.written_;
        fd_ = std::exchange(o.fd_, -1);
        ctx_ = std::move(o.ctx_);
        failure_ = std::move(o.failure_);
    }
    return *this;
}

BlobStore::Writer::~Writer() {
    discard();
}

void BlobStore::Writer::discard() {
    if (fd_ < 0)
        return;
    ::close(std::exchange(fd_, -1));
    ::unlink(tmp_path_.c_str());
}

// The first failure is the reason; the bytes so far are worthless, so they
// leave the disk now rather than at commit.
void BlobStore::Writer::fail(std::string reason) {
    if (failure_.empty())
        failure_ = std::move(reason);
    discard();
}

bool BlobStore::Writer::write(std::span<const char> bytes) {
    if (!failure_.empty() || fd_ < 0)
        return false;
    std::uint64_t total = written_ + bytes.size();
    if (total > limit_) {
        fail("its first " + std::to_string(total) + " bytes exceed the cache limit of " +
             std::to_string(limit_));
        return false;
    }
    if (expected_ != 0 && total > expected_) {
        fail("its body ran past the " + std::to_string(expected_) + " bytes expected");
        return false;
    }
    EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
    const char* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        ssize_t n = ::write(fd_, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail(tmp_path_.string() + ": cannot write: " + std::strerror(errno));
            return false;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    written_ = total;
    return true;
}

bool BlobStore::Writer::commit(std::string& problem) {
    const std::string prefix = "blob sha256:" + hex_ + " not stored: ";
    if (failure_.empty() && fd_ < 0)
        failure_ = "it was already committed (or its writer moved from)";
    if (failure_.empty() && expected_ != 0 && written_ != expected_)
        fail("its body was " + std::to_string(written_) + " bytes, not the " +
             std::to_string(expected_) + " expected");
    if (failure_.empty()) {
        auto actual = final_hex(ctx_.get());
        if (actual != hex_)
            fail("its bytes hash to sha256:" + actual);
    }
    const fs::path target = blobs_ / hex_;
    if (failure_.empty() && ::rename(tmp_path_.c_str(), target.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp_path_.c_str());
        fail("cannot rename " + tmp_path_.string() + " to " + target.string() + ": " +
             std::strerror(err));
    }
    // Sealed after the rename (a rename changes the file's ctime), through
    // the fd that wrote it: hashed on the way in, it need not be hashed on
    // its first read.
    if (struct stat st{}; failure_.empty() && stamp(fd_, st))
        write_seal(st, markers_ / hex_, tmp_path_.parent_path());
    if (failure_.empty() && ::close(std::exchange(fd_, -1)) != 0) {
        // A deferred write error: what is under the name may be wrong.
        int err = errno;
        ::unlink((markers_ / hex_).c_str());
        ::unlink(target.c_str());
        fail(target.string() + ": cannot close: " + std::strerror(err));
    }
    if (!failure_.empty()) {
        discard();
        problem = prefix + failure_;
        return false;
    }
    evict(blobs_, markers_, limit_, hex_);
    return true;
}

} // namespace proxy
