// See refusals.hpp.
#include "launch/refusals.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <unistd.h>
#include <utility>

namespace launch {

namespace {

// The kinds of refusal, in the order they are reported.
enum Kind { host, address, port, deny, sni, malformed, turned_away, kinds };

struct Entry {
    Kind kind;
    std::string key; // host:port; empty for the kinds that are only counted
};

std::string_view text_of(const boost::json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

long number_of(const boost::json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    boost::system::error_code ec;
    long n = v && v->is_number() ? v->to_number<long>(ec) : 0;
    return ec ? 0 : n;
}

// The refusal one access-log line records, if it is one.
std::optional<Entry> refusal(std::string_view line) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    const auto& o = v.get_object();
    auto reason = text_of(o, "reason");
    long status = number_of(o, "status");
    if (reason == "max_connections" || status == 503) {
        return Entry{turned_away, {}};
    }
    if (text_of(o, "decision") != "deny") {
        return std::nullopt;
    }
    auto host_name = text_of(o, "host");
    long port_number = number_of(o, "port");
    if (host_name.empty() || port_number <= 0 || status == 400 || status == 408 || status == 431) {
        return Entry{malformed, {}};
    }
    auto key = fmt::format("{}:{}", host_name, port_number);
    if (reason.starts_with("address:")) {
        return Entry{address, key};
    }
    if (reason.starts_with("port ")) {
        return Entry{port, key};
    }
    if (reason.starts_with("deny ")) {
        return Entry{deny, key};
    }
    if (reason.starts_with("sni_mismatch") || reason.starts_with("tls_malformed")) {
        return Entry{sni, key};
    }
    if (status == 403) {
        return Entry{host, key};
    }
    return Entry{malformed, {}};
}

std::string listed(const std::map<std::string, long>& count) {
    std::vector<std::pair<std::string, long>> sorted(count.begin(), count.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string list;
    for (const auto& [key, n] : sorted) {
        list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", key, n);
    }
    return list;
}

long total(const std::map<std::string, long>& count) {
    long n = 0;
    for (const auto& kv : count) {
        n += kv.second;
    }
    return n;
}

} // namespace

std::vector<std::string> summarize_refusals(std::string_view log) {
    std::array<std::map<std::string, long>, kinds> count;
    size_t begin = 0;
    while (begin < log.size()) {
        auto nl = log.find('\n', begin);
        auto end = nl == std::string_view::npos ? log.size() : nl;
        if (auto e = refusal(log.substr(begin, end - begin))) {
            ++count[e->kind][e->key];
        }
        begin = end + 1;
    }
    std::vector<std::string> out;
    auto say = [&](Kind k, std::string_view what, std::string_view how) {
        if (!count[k].empty()) {
            out.push_back(
                fmt::format("the proxy refused{}: {} \u2014 {}", what, listed(count[k]), how));
        }
    };
    say(host, "",
        "allow a host with --allow HOST (HOST:PORT for a port other than 80 and 443) or a "
        "filter line");
    say(address, " private, loopback or other special addresses",
        "allow a range with --allow-cidr CIDR");
    say(port, " CONNECT to ports it does not open",
        "open one for one host with --allow HOST:PORT, or for every allowed host with "
        "--connect-port PORT");
    say(deny, " hosts a --deny pattern names", "drop that --deny to allow them");
    say(sni, " TLS whose server name differs from the CONNECT host (or is malformed)",
        "connect to the host the TLS names");
    if (!count[malformed].empty()) {
        out.push_back(fmt::format("the proxy refused {} malformed request{} (400/408/431: see "
                                  "proxy-access.log); no flag allows these",
                                  total(count[malformed]),
                                  total(count[malformed]) == 1 ? "" : "s"));
    }
    if (!count[turned_away].empty()) {
        out.push_back(fmt::format("the proxy turned away {} connection{} with 503: more clients at "
                                  "once than its connection limit",
                                  total(count[turned_away]),
                                  total(count[turned_away]) == 1 ? "" : "s"));
    }
    return out;
}

std::vector<std::string> refusal_summary(int access_log, long start) {
    if (access_log < 0) {
        return {};
    }
    std::string text;
    char buf[65536];
    ssize_t n;
    for (off_t at = start; (n = ::pread(access_log, buf, sizeof buf, at)) > 0; at += n) {
        text.append(buf, static_cast<size_t>(n));
    }
    return summarize_refusals(text);
}

} // namespace launch
