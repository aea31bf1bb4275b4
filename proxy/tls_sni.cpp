// See tls_sni.hpp. Layout walked here: record header (type 22, version,
// length), handshake header (type 1, 24-bit length), legacy_version, random,
// session_id, cipher_suites, compression_methods, extensions; extension 0
// is server_name: a list of (type 0 = host_name, length, name).
#include "proxy/tls_sni.hpp"

#include <optional>
#include <vector>

namespace proxy {
namespace {

using Status = SniResult::Status;

constexpr std::size_t max_hello = 64 * 1024;

SniResult bad(std::string why) {
    return {Status::malformed, {}, std::move(why)};
}

// A bounds-checked big-endian reader over the handshake message.
struct Reader {
    std::span<const std::uint8_t> b;
    std::size_t pos = 0;
    bool fail = false;

    std::uint32_t num(std::size_t n) {
        if (pos + n > b.size()) {
            fail = true;
            pos = b.size();
            return 0;
        }
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v = (v << 8) | b[pos++];
        return v;
    }
    std::span<const std::uint8_t> take(std::size_t n) {
        if (pos + n > b.size()) {
            fail = true;
            pos = b.size();
            return {};
        }
        auto s = b.subspan(pos, n);
        pos += n;
        return s;
    }
};

SniResult server_name(std::span<const std::uint8_t> ext) {
    Reader r{ext};
    auto list = r.take(r.num(2));
    Reader l{list};
    while (!l.fail && l.pos < list.size()) {
        auto type = l.num(1);
        auto name = l.take(l.num(2));
        if (l.fail)
            break;
        if (type != 0)
            continue;
        std::string s(name.begin(), name.end());
        for (auto& c : s)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c - 'A' + 'a');
        if (!s.empty() && s.back() == '.')
            s.pop_back();
        if (s.empty())
            return bad("empty server_name");
        // "name.." would keep a trailing dot and never equal a CONNECT host.
        if (s.back() == '.')
            return bad("server_name ends in an empty label");
        return {Status::sni, std::move(s), {}};
    }
    return r.fail || l.fail ? bad("truncated server_name extension")
                            : SniResult{Status::no_sni, {}, {}};
}

SniResult client_hello(std::span<const std::uint8_t> body) {
    Reader r{body};
    r.take(2 + 32);   // legacy_version, random
    r.take(r.num(1)); // legacy_session_id
    r.take(r.num(2)); // cipher_suites
    r.take(r.num(1)); // legacy_compression_methods
    if (r.fail)
        return bad("truncated ClientHello");
    if (r.pos == body.size())
        return {Status::no_sni, {}, {}}; // no extensions at all
    auto exts = r.take(r.num(2));
    if (r.fail)
        return bad("truncated ClientHello extensions");
    Reader e{exts};
    while (e.pos < exts.size()) {
        auto type = e.num(2);
        auto data = e.take(e.num(2));
        if (e.fail)
            return bad("truncated ClientHello extension");
        if (type == 0)
            return server_name(data);
    }
    return {Status::no_sni, {}, {}};
}

} // namespace

SniResult inspect_client_hello(std::span<const std::uint8_t> bytes) {
    if (bytes.empty())
        return {};
    if (bytes[0] != 22)
        return {Status::not_tls, {}, {}};
    // Gather handshake bytes from consecutive records until the whole
    // ClientHello message is present.
    std::vector<std::uint8_t> handshake;
    std::size_t pos = 0;
    while (true) {
        if (handshake.size() >= 4) {
            if (handshake[0] != 1)
                return bad("first handshake message is not a ClientHello");
            std::size_t len =
                (std::size_t(handshake[1]) << 16) | (handshake[2] << 8) | handshake[3];
            if (len + 4 > max_hello)
                return bad("ClientHello larger than 64 KiB");
            if (handshake.size() >= len + 4)
                return client_hello(std::span(handshake).subspan(4, len));
        }
        if (pos + 5 > bytes.size())
            return {};
        if (bytes[pos] != 22 || bytes[pos + 1] != 3)
            return bad("not a TLS handshake record");
        std::size_t rec = (std::size_t(bytes[pos + 3]) << 8) | bytes[pos + 4];
        if (rec == 0 || rec > 16384 + 2048)
            return bad("TLS record length out of range");
        if (pos + 5 + rec > bytes.size())
            return {};
        handshake.insert(handshake.end(), bytes.begin() + pos + 5, bytes.begin() + pos + 5 + rec);
        pos += 5 + rec;
    }
}

} // namespace proxy
