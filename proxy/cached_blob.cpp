// Session: registry blobs through the image cache. A GET or HEAD of
// /v2/NAME/blobs/sha256:D on a --cache-registry host is answered from the
// store when it holds D (verified on this read); otherwise a GET is fetched
// by the proxy itself, following the registry's redirects to its storage
// (each hop under the same policy), and its body goes to the client and,
// hashed on the way, to a temporary file that becomes D only if the bytes
// hash to D. Every such request's access-log line says hit, miss or stored.
#include "proxy/session.hpp"

#include "proxy/http_rewrite.hpp"
#include "proxy/image_cache.hpp"
#include "proxy/registry_path.hpp"

#include <boost/system/system_error.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <unistd.h>

namespace proxy {
namespace {

constexpr std::size_t blob_chunk = 256 * 1024;
constexpr int max_redirects = 5;

bool is_redirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Credentials are for the registry: a redirect to its storage host (S3, a
// CDN) carries its own signed URL and must not see them, and a redirect to
// plain http must not carry them in the clear.
void drop_credentials(RequestHead& r) {
    std::erase_if(r.fields, [](const HeaderField& f) {
        return iequals(f.name, "Authorization") || iequals(f.name, "Cookie");
    });
}

} // namespace

bool Session::is_cached_blob(const RequestHead& req, const Target& t, Framing body,
                             std::string& digest) const {
    if (!ctx_->cache || (req.method != "GET" && req.method != "HEAD") ||
        body.kind != BodyKind::none || !ctx_->cache->caches(t))
        return false;
    auto d = blob_digest(t.origin_form);
    if (!d)
        return false;
    digest = std::move(*d);
    return true;
}

boost::asio::awaitable<bool> Session::cached_blob(const RequestHead& req, const Target& t,
                                                  const std::string& digest) {
    std::string problem;
    auto blob = ctx_->cache->blobs().open_verified(digest, problem);
    if (!problem.empty()) // corrupt on disk (now removed), or unreadable: fetch it again
        fmt::print(stderr, "proxy: image cache: {}\n", problem);
    if (blob)
        co_return co_await serve_cached(req, digest, *blob);
    record_->cache = "miss";
    // A range of a blob (a resumed pull) cannot be checked against its
    // digest, and HEAD has no bytes to keep: both go upstream as they are.
    if (req.method == "GET" && field_values(req.fields, "Range").empty())
        co_return co_await fetch_blob(req, t, digest);
    if (!co_await send_request_head(req, t))
        co_return false;
    exchanging_ = true;
    bool keep = co_await exchange(req, Framing{});
    exchanging_ = false;
    finish_record();
    co_return keep;
}

boost::asio::awaitable<bool> Session::serve_cached(const RequestHead& req,
                                                   const std::string& digest, const Blob& blob) {
    bool keep = keeps_alive(req.minor_version, req.fields);
    auto head =
        fmt::format("HTTP/1.1 200 OK\r\n"
                    "Content-Type: application/octet-stream\r\n"
                    "Content-Length: {}\r\n"
                    "Docker-Content-Digest: sha256:{}\r\n"
                    "ETag: \"sha256:{}\"\r\n"
                    "Via: {}\r\n"
                    "{}\r\n",
                    blob.size(), digest, digest, via_entry, keep ? "" : "Connection: close\r\n");
    record_->cache = "hit";
    record_->status = 200;
    set_phase(Phase::streaming, idle_);
    if (co_await write_all(client_, head))
        co_return false;
    record_->bytes_down += head.size();
    if (req.method == "GET")
        co_await send_blob(blob, digest);
    finish_record();
    co_return keep;
}

// The body of a hit, copied through a buffer: pread, then write. Not
// sendfile(2): measured here with a client that hashes as it reads (what an
// engine does), sendfile left all the copying to the client's core and a
// 105 MiB pull took 0.11 s against 0.08 s copied (bench/image_cache.sh,
// docs/benchmarks.md).
boost::asio::awaitable<void> Session::send_blob(const Blob& blob, const std::string& digest) {
    std::string chunk(static_cast<std::size_t>(std::min<std::uint64_t>(blob.size(), blob_chunk)),
                      '\0');
    std::uint64_t offset = 0;
    while (offset < blob.size()) {
        auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), blob.size() - offset));
        auto n = ::pread(blob.fd(), chunk.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw std::runtime_error(
                fmt::format("cached blob sha256:{}: read failed at byte {}: {}", digest, offset,
                            n < 0 ? std::strerror(errno) : "file shrank"));
        if (auto ec = co_await write_all(
                client_, std::string_view(chunk.data(), static_cast<std::size_t>(n))))
            throw boost::system::system_error(ec);
        offset += static_cast<std::uint64_t>(n);
        record_->bytes_down += static_cast<std::uint64_t>(n);
        touch();
    }
}

boost::asio::awaitable<bool> Session::fetch_blob(const RequestHead& req, const Target& t,
                                                 const std::string& digest) {
    RequestHead r = req;
    Target at = t;
    for (int hop = 0;; ++hop) {
        if (!co_await send_request_head(r, at))
            co_return false;
        std::optional<ResponseHead> res;
        while (!res || res->status < 200) {
            auto got = co_await read_head(upstream_, ubuf_, max_head_bytes, upstream_have_);
            auto parsed = got.status == HeadStatus::complete
                              ? parse_response_head(std::string_view(ubuf_).substr(0, got.size))
                              : boost::system::result<ResponseHead, HeadProblem>(
                                    HeadProblem{HeadError::malformed, "no complete head"});
            if (!parsed) {
                const Refusal named = {{502,
                                        "http_protocol_error",
                                        fmt::format("registry response: {}", parsed.error().text),
                                        {}},
                                       "http_protocol_error",
                                       false};
                co_await refuse(named);
                co_return false;
            }
            ubuf_.erase(0, got.size);
            res = std::move(*parsed);
        }
        auto framing = response_framing(*res, r.method);
        if (!framing) {
            const Refusal named = {{502, "http_response_transfer_coding", framing.error(), {}},
                                   "http_response_transfer_coding",
                                   false};
            co_await refuse(named);
            co_return false;
        }
        auto locations = field_values(res->fields, "Location");
        if (is_redirect(res->status) && locations.size() == 1 && hop < max_redirects) {
            std::string location(locations.front());
            auto next = location.starts_with('/') && !location.starts_with("//")
                            ? Parsed<Target>(Target{at.host, at.port, location, at.https})
                            : parse_absolute_form(location, true);
            if (next) {
                // The redirect's own body is not wanted: this connection is
                // not reused, so it need not be read.
                upstream_reusable_ = false;
                ubuf_.clear();
                if (next->host != at.host || next->port != at.port || next->https != at.https)
                    drop_credentials(r);
                at = std::move(*next);
                auto reason = record_->reason;
                // An https hop is a TLS connection the proxy opens itself:
                // the CONNECT rules (ports) apply to it, as to a client's.
                if (auto no = check_policy(at, at.https)) {
                    // The refused host is the storage host: name it, so the
                    // refusal log's fix and the launcher's summary allow
                    // what was refused, not the registry.
                    no->reason =
                        fmt::format("redirected to {}:{}: {}", at.host.name, at.port, no->reason);
                    record_->host = at.host.name;
                    record_->port = at.port;
                    co_await refuse(*no);
                    co_return false;
                }
                record_->reason =
                    fmt::format("{}; redirected to {}:{}", reason, at.host.name, at.port);
                continue;
            }
        }
        co_return co_await store_blob(r, *res, *framing, digest);
    }
}

// The final response of a fetch: a 200 with a length is teed into the
// store; anything else (an error, a chunked body) is relayed and not kept.
boost::asio::awaitable<bool> Session::store_blob(const RequestHead& req, const ResponseHead& res,
                                                 Framing framing, const std::string& digest) {
    bool client_keep =
        keeps_alive(req.minor_version, req.fields) && framing.kind != BodyKind::until_close;
    auto out = client_response_head(res, !client_keep);
    record_->status = res.status;
    set_phase(Phase::streaming, idle_);
    std::string problem;
    std::optional<BlobStore::Writer> writer;
    if (res.status == 200 && framing.kind == BodyKind::length)
        writer = ctx_->cache->blobs().begin(digest, framing.length, problem);
    if (!writer) {
        if (!problem.empty())
            record_->reason += "; " + problem;
        record_->bytes_down += out.size();
        auto r = co_await copy_body(upstream_, ubuf_, client_, framing, out, progress_);
        record_->bytes_down += r.bytes;
        if (!r.complete)
            throw std::runtime_error("response body: " +
                                     (r.write_error ? r.write_error : r.read_error).message());
    } else {
        if (auto ec = co_await write_all(client_, out))
            throw boost::system::system_error(ec);
        record_->bytes_down += out.size();
        std::uint64_t remaining = framing.length;
        while (remaining > 0) {
            if (ubuf_.empty()) {
                boost::system::error_code ec;
                auto want =
                    static_cast<std::size_t>(std::min<std::uint64_t>(remaining, blob_chunk));
                if (co_await read_more(upstream_, ubuf_, want, ec) == 0)
                    throw std::runtime_error(
                        fmt::format("blob sha256:{}: the registry closed with {} bytes to go",
                                    digest, remaining));
            }
            auto take = static_cast<std::size_t>(std::min<std::uint64_t>(ubuf_.size(), remaining));
            std::string_view piece(ubuf_.data(), take);
            if (auto ec = co_await write_all(client_, piece))
                throw boost::system::system_error(ec);
            writer->write(std::span(piece.data(), piece.size()));
            ubuf_.erase(0, take);
            remaining -= take;
            record_->bytes_down += take;
            touch();
        }
        if (writer->commit(problem)) {
            record_->cache = "stored";
        } else {
            record_->reason += "; " + problem;
            fmt::print(stderr, "proxy: image cache: {}\n", problem);
        }
    }
    upstream_reusable_ =
        keeps_alive(res.minor_version, res.fields) && framing.kind != BodyKind::until_close;
    upstream_used_ = Clock::now();
    finish_record();
    co_return client_keep;
}

} // namespace proxy
