// The image cache's blob store: registry blobs on disk, named by their
// SHA-256 (DIR/sha256/<hex>), shared by every proxy of one user (one per
// cell) with no lock. What keeps it safe to share:
//   - a blob is written to a temporary file in DIR/tmp, hashed on the way,
//     and renamed into DIR/sha256 only when its bytes hash to its name, so
//     no partial or wrong blob is ever visible there; two writers of the
//     same digest both rename identical bytes, and the last one wins;
//   - a blob is served only while it is sealed (blob_store.cpp: a marker
//     in DIR/verified that any change to the file through the kernel
//     invalidates) or after it is hashed again, and a file that does not
//     match its name is removed (it is fetched again).
// Nothing is fsynced: a crash may leave a torn or empty blob behind, but the
// read check drops it, so durability would buy nothing but slow commits.
// Eviction (least recently used by the seal's mtime, which a hit refreshes) runs after
// each commit and tolerates other processes evicting the same files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct evp_md_ctx_st; // OpenSSL's EVP_MD_CTX, kept out of this header

namespace proxy {

// An open, verified blob: pread its fd (its offset is unspecified); the file
// may be evicted meanwhile, which an open fd survives.
class Blob {
public:
    Blob(Blob&& o) noexcept;
    Blob& operator=(Blob&& o) noexcept;
    Blob(const Blob&) = delete;
    Blob& operator=(const Blob&) = delete;
    ~Blob();

    int fd() const { return fd_; }
    std::uint64_t size() const { return size_; }

private:
    friend class BlobStore;
    Blob(int fd, std::uint64_t size) : fd_(fd), size_(size) {}

    int fd_ = -1;
    std::uint64_t size_ = 0;
};

class BlobStore {
public:
    // Opens or creates DIR (missing components 0700) with sha256/ and tmp/,
    // and removes what crashed writers left in tmp/ (files untouched for an
    // hour). `limit` is the most bytes of blobs kept. Throws
    // std::runtime_error naming the path and the error.
    BlobStore(std::filesystem::path dir, std::uint64_t limit);

    // Exactly 64 lowercase hex characters: the only names the store uses.
    static bool valid_digest(std::string_view hex);

    // The blob named `hex` when its bytes hash to `hex`; a hit counts as a
    // use for eviction. Absent: nullopt and `problem` left empty. Corrupt:
    // the file is removed and `problem` says it "is corrupt". Unreadable (or
    // an invalid digest): nullopt and `problem` says why.
    std::optional<Blob> open_verified(std::string_view hex, std::string& problem);

    // One blob on its way into the store. Its bytes go to a temporary file
    // as they arrive; commit() keeps them only if they are what was named.
    class Writer {
    public:
        Writer(Writer&& o) noexcept;
        Writer& operator=(Writer&& o) noexcept;
        Writer(const Writer&) = delete;
        Writer& operator=(const Writer&) = delete;
        ~Writer(); // an uncommitted blob is discarded

        // Appends bytes. False once anything failed (a write error, more
        // bytes than the store's limit or than expected); the reason is
        // kept for commit() and the temporary file is dropped at once.
        bool write(std::span<const char> bytes);

        // Keeps the blob when every write succeeded, its size is the one
        // expected (if any) and its SHA-256 is its name; then evicts the
        // least recently used blobs over the limit, never this one. Else
        // false, and `problem` says the blob was "not stored" and why.
        bool commit(std::string& problem);

        std::uint64_t written() const { return written_; }

    private:
        friend class BlobStore;
        struct CtxFree {
            void operator()(evp_md_ctx_st* c) const;
        };

        Writer(std::filesystem::path blobs, std::filesystem::path markers,
               std::filesystem::path tmp_path, std::string hex, std::uint64_t expected,
               std::uint64_t limit, int fd, std::unique_ptr<evp_md_ctx_st, CtxFree> ctx);
        void fail(std::string reason);
        void discard();

        std::filesystem::path blobs_;   // DIR/sha256
        std::filesystem::path markers_; // DIR/verified
        std::filesystem::path tmp_path_;
        std::string hex_;
        std::uint64_t expected_ = 0;
        std::uint64_t limit_ = 0;
        std::uint64_t written_ = 0;
        int fd_ = -1; // -1 once committed, discarded or moved from
        std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
        std::string failure_;
    };

    // Starts storing `hex`; `expected_size` 0 means unknown. Nullopt, with
    // `problem` saying why, for an invalid digest, a blob known to exceed
    // the limit, or a temporary file that cannot be made.
    std::optional<Writer> begin(std::string_view hex, std::uint64_t expected_size,
                                std::string& problem);

    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
    std::filesystem::path blobs_;   // DIR/sha256
    std::filesystem::path markers_; // DIR/verified: the seals
    std::filesystem::path tmp_;     // DIR/tmp
    std::uint64_t limit_;
};

} // namespace proxy
