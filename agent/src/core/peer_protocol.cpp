#include "rdma_agent/peer_protocol.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <map>
#include <vector>

namespace rdma_agent::peer {
namespace {

using Fields = std::map<std::string, std::string, std::less<>>;

struct Line {
    std::string verb;
    std::string rest;  // after the verb (ERROR's text)
    Fields fields;
};

std::optional<Line> split_line(std::string_view line, std::string& error) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLine) {
        error = "line longer than " + std::to_string(kMaxLine) + " bytes";
        return std::nullopt;
    }
    for (unsigned char c : line) {
        if (c < 0x20 || c > 0x7e) {
            error = "non-printable byte in the line (not an rdma-agent peer?)";
            return std::nullopt;
        }
    }
    std::vector<std::string_view> tok;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        const size_t s = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > s) tok.push_back(line.substr(s, i - s));
    }
    if (tok.empty() || tok[0] != kMagic) {
        error = "not an rdma-agent peer line (expected '" + std::string(kMagic) + " ...', got '" +
                std::string(line.substr(0, 40)) + "')";
        return std::nullopt;
    }
    if (tok.size() < 2) {
        error = "no message verb after " + std::string(kMagic);
        return std::nullopt;
    }
    Line out;
    out.verb = std::string(tok[1]);
    const size_t verb_end = static_cast<size_t>(tok[1].data() - line.data()) + tok[1].size();
    out.rest = std::string(line.substr(std::min(verb_end + 1, line.size())));
    if (out.verb == "ERROR") return out;
    for (size_t k = 2; k < tok.size(); ++k) {
        const auto eq = tok[k].find('=');
        if (eq == std::string_view::npos || eq == 0) {
            error = "token '" + std::string(tok[k]) + "' is not key=value";
            return std::nullopt;
        }
        out.fields.emplace(std::string(tok[k].substr(0, eq)), std::string(tok[k].substr(eq + 1)));
    }
    return out;
}

bool number(const Fields& f, const char* key, uint64_t max, uint64_t& out, std::string& error) {
    const auto it = f.find(key);
    if (it == f.end()) {
        error = std::string("missing ") + key + "=";
        return false;
    }
    const auto& v = it->second;
    uint64_t n = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) {
        error = std::string(key) + "=" + v + ": not a decimal number";
        return false;
    }
    if (n > max) {
        error = std::string(key) + "=" + v + ": larger than " + std::to_string(max);
        return false;
    }
    out = n;
    return true;
}

bool qp_address(const Fields& f, QpAddress& qp, std::string& error) {
    uint64_t qpn = 0, psn = 0, lid = 0, mtu = 0;
    if (!number(f, "qpn", 0xffffff, qpn, error) || !number(f, "psn", 0xffffff, psn, error) ||
        !number(f, "lid", 0xffff, lid, error) || !number(f, "mtu", 4096, mtu, error))
        return false;
    if (mtu_bytes_to_enum(static_cast<int>(mtu)) == 0) {
        error = "mtu=" + std::to_string(mtu) + ": not one of 256, 512, 1024, 2048, 4096";
        return false;
    }
    const auto g = f.find("gid");
    if (g == f.end()) {
        error = "missing gid=";
        return false;
    }
    in6_addr a{};
    if (inet_pton(AF_INET6, g->second.c_str(), &a) != 1) {
        error = "gid=" + g->second + ": not an IPv6-format GID";
        return false;
    }
    qp.qpn = static_cast<uint32_t>(qpn);
    qp.psn = static_cast<uint32_t>(psn);
    qp.lid = static_cast<uint16_t>(lid);
    qp.mtu = static_cast<int>(mtu);
    qp.gid = g->second;
    return true;
}

std::string qp_fields(const QpAddress& q) {
    return "qpn=" + std::to_string(q.qpn) + " psn=" + std::to_string(q.psn) + " lid=" + std::to_string(q.lid) +
           " gid=" + (q.gid.empty() ? std::string("::") : q.gid) + " mtu=" + std::to_string(q.mtu);
}

template <typename T>
Parsed<T> fail(std::string e) {
    return Parsed<T>{std::nullopt, std::move(e)};
}

}  // namespace

std::string format_hello(const Hello& h) {
    return std::string(kMagic) + " HELLO " + qp_fields(h.qp) + " verify=" + std::to_string(h.verify) +
           " size=" + std::to_string(h.size) + " iters=" + std::to_string(h.iters) + "\n";
}

std::string format_accept(const Accept& a) {
    return std::string(kMagic) + " ACCEPT " + qp_fields(a.qp) + " device=" + (a.device.empty() ? "?" : a.device) + "\n";
}

std::string format_error(std::string_view text) {
    std::string t(text.substr(0, kMaxLine - kMagic.size() - 16));
    for (auto& c : t)
        if (c == '\n' || c == '\r' || static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = ' ';
    return std::string(kMagic) + " ERROR " + t + "\n";
}

std::string format_done(const Done& d) {
    return std::string(kMagic) + " DONE verified=" + std::to_string(d.verified) +
           " answered=" + std::to_string(d.answered) + "\n";
}

Parsed<Hello> parse_hello(std::string_view line) {
    std::string e;
    auto l = split_line(line, e);
    if (!l) return fail<Hello>(e);
    if (l->verb != "HELLO") return fail<Hello>("expected HELLO, got " + l->verb);
    Hello h;
    uint64_t verify = 0, size = 0, iters = 0;
    if (!qp_address(l->fields, h.qp, e) || !number(l->fields, "verify", kMaxBytes, verify, e) ||
        !number(l->fields, "size", kMaxBytes, size, e) || !number(l->fields, "iters", kMaxIters, iters, e))
        return fail<Hello>(e);
    if (size == 0) return fail<Hello>("size=0: the ping-pong needs at least 1 byte");
    h.verify = static_cast<uint32_t>(verify);
    h.size = static_cast<uint32_t>(size);
    h.iters = static_cast<uint32_t>(iters);
    return {h, {}};
}

Parsed<Accept> parse_accept(std::string_view line) {
    std::string e;
    auto l = split_line(line, e);
    if (!l) return fail<Accept>(e);
    if (l->verb == "ERROR") return fail<Accept>("peer refused: " + l->rest);
    if (l->verb != "ACCEPT") return fail<Accept>("expected ACCEPT or ERROR, got " + l->verb);
    Accept a;
    if (!qp_address(l->fields, a.qp, e)) return fail<Accept>(e);
    const auto d = l->fields.find("device");
    a.device = d == l->fields.end() ? "?" : d->second;
    return {a, {}};
}

Parsed<Done> parse_done(std::string_view line) {
    std::string e;
    auto l = split_line(line, e);
    if (!l) return fail<Done>(e);
    if (l->verb == "ERROR") return fail<Done>("peer reported: " + l->rest);
    if (l->verb != "DONE") return fail<Done>("expected DONE, got " + l->verb);
    uint64_t v = 0, a = 0;
    if (!number(l->fields, "verified", kMaxBytes, v, e) || !number(l->fields, "answered", kMaxIters, a, e))
        return fail<Done>(e);
    return {Done{static_cast<uint32_t>(v), static_cast<uint32_t>(a)}, {}};
}

int mtu_bytes_to_enum(int bytes) {
    switch (bytes) {
        case 256: return 1;
        case 512: return 2;
        case 1024: return 3;
        case 2048: return 4;
        case 4096: return 5;
        default: return 0;
    }
}

int mtu_enum_to_bytes(int e) { return e >= 1 && e <= 5 ? 128 << e : 0; }

std::string Endpoint::text() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Parsed<Endpoint> parse_endpoint(std::string_view spec) {
    // Built with append(): GCC 12 -O3 reports a false -Wrestrict on "'" + std::string(...).
    const auto bad = [spec](std::string_view why) {
        std::string m;
        m.reserve(spec.size() + why.size() + 4);
        m.append("'").append(spec).append("': ").append(why);
        return fail<Endpoint>(std::move(m));
    };
    Endpoint ep;
    std::string_view host = spec, port;
    if (spec.empty()) return fail<Endpoint>("empty peer");
    if (spec.front() == '[') {
        const auto close = spec.find(']');
        if (close == std::string_view::npos) return bad("'[' without ']'");
        host = spec.substr(1, close - 1);
        const auto after = spec.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return bad("expected ':PORT' after ']'");
            port = after.substr(1);
            if (port.empty()) return bad("empty port");
        }
    } else {
        const auto c = spec.find(':');
        if (c != std::string_view::npos) {
            if (spec.find(':', c + 1) != std::string_view::npos)
                return bad("an IPv6 address needs brackets: [ADDR]:PORT");
            host = spec.substr(0, c);
            port = spec.substr(c + 1);
            if (port.empty()) return bad("empty port");
        }
    }
    if (host.empty()) return bad("empty host");
    for (char ch : host)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' || ch == '_' || ch == '%'))
            return bad(std::string("'") + ch + "' is not allowed in a host name");
    if (!port.empty()) {
        unsigned n = 0;
        const auto r = std::from_chars(port.data(), port.data() + port.size(), n);
        if (r.ec != std::errc() || r.ptr != port.data() + port.size() || n == 0 || n > 65535)
            return bad(std::string("port '").append(port).append("' is not 1..65535"));
        ep.port = static_cast<uint16_t>(n);
    }
    ep.host = std::string(host);
    return {ep, {}};
}

void fill_pattern(uint8_t* p, size_t n, uint32_t seed) {
    uint32_t x = seed * 2654435761U + 0x9e3779b9U;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = static_cast<uint8_t>(x ^ i);
    }
}

long check_pattern(const uint8_t* p, size_t n, uint32_t seed) {
    uint32_t x = seed * 2654435761U + 0x9e3779b9U;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if (p[i] != static_cast<uint8_t>(x ^ i)) return static_cast<long>(i);
    }
    return -1;
}

}  // namespace rdma_agent::peer
