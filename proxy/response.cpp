// Session: relaying one response from upstream to the client. Interim 1xx
// responses are passed on; the final head is rewritten (hop-by-hop fields
// out, Via in, Connection: close when the client connection ends after it);
// the body is copied by its framing. Failures before the first response
// byte are answered with 502 (RFC 9209 types); later ones can only close.
#include "proxy/session.hpp"

#include "proxy/http_rewrite.hpp"

#include <boost/system/system_error.hpp>
#include <fmt/format.h>

namespace proxy {

boost::asio::awaitable<bool> Session::relay_response(const RequestHead& req, bool& started) {
    auto bad_gateway = [&](std::string_view type, std::string details) -> Refusal {
        return {{502, type, std::move(details), {}}, std::string(type), false};
    };
    for (;;) {
        auto head = co_await read_head(upstream_, ubuf_, max_head_bytes, upstream_have_);
        if (head.status != HeadStatus::complete) {
            {
                const Refusal named =
                    head.status == HeadStatus::too_large
                        ? bad_gateway("http_response_header_section_size",
                                      "response head from the destination exceeds 64 KiB")
                        : bad_gateway("connection_terminated",
                                      "the destination closed the connection without "
                                      "a complete response");
                co_await refuse(named);
            }
            throw Answered{};
        }
        auto res = parse_response_head(std::string_view(ubuf_).substr(0, head.size));
        ubuf_.erase(0, head.size);
        if (!res || res->status == 101) {
            {
                const Refusal named = bad_gateway("http_protocol_error",
                                                  res ? "unexpected 101 Switching Protocols"
                                                      : "bad response head: " + res.error().text);
                co_await refuse(named);
            }
            throw Answered{};
        }
        if (res->status < 200) { // 100 Continue, 103 Early Hints
            auto interim = client_response_head(*res, false);
            if (auto ec = co_await write_all(client_, interim))
                throw boost::system::system_error(ec);
            continue;
        }
        auto framing = response_framing(*res, req.method);
        if (!framing) {
            {
                const Refusal named = bad_gateway("http_response_transfer_coding", framing.error());
                co_await refuse(named);
            }
            throw Answered{};
        }
        bool client_keep =
            keeps_alive(req.minor_version, req.fields) && framing->kind != BodyKind::until_close;
        auto out = client_response_head(*res, !client_keep);
        started = true;
        record_->status = res->status;
        set_phase(Phase::streaming, idle_);
        record_->bytes_down += out.size();
        auto r = co_await copy_body(upstream_, ubuf_, client_, *framing, out, progress_);
        record_->bytes_down += r.bytes;
        if (!r.complete)
            throw std::runtime_error(
                r.framing_error.empty()
                    ? fmt::format("response body: {}",
                                  (r.write_error ? r.write_error : r.read_error).message())
                    : "response body: " + r.framing_error);
        upstream_reusable_ =
            keeps_alive(res->minor_version, res->fields) && framing->kind != BodyKind::until_close;
        upstream_used_ = Clock::now();
        co_return client_keep;
    }
}

} // namespace proxy
