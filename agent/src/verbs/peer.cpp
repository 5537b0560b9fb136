// rdma-agent serve / check --peer: see peer.hpp and rdma_agent/peer_protocol.hpp.
#include "peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <stdexcept>

#include "verbs_api.hpp"
#include "verbs_common.hpp"

namespace rdma_agent {
namespace {

using Clock = std::chrono::steady_clock;
using namespace verbs;

constexpr int kDepth = 16;

// A failure of the exchange or of the traffic, with the step that failed.
struct PeerError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string errno_text(int e) { return std::strerror(e); }

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    void reset() noexcept {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }
    int get() const noexcept { return fd_; }

private:
    int fd_ = -1;
};

bool wait_fd(int fd, short events, int timeout_ms) {
    pollfd p{fd, events, 0};
    for (;;) {
        const int r = ::poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        return r > 0;
    }
}

void send_all(int fd, const std::string& s, const std::string& what) {
    size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw PeerError(what + ": send failed: " + errno_text(errno));
        off += static_cast<size_t>(n);
    }
}

// One protocol line (up to kMaxLine bytes), waiting at most timeout_ms overall.
std::string read_line(int fd, int timeout_ms, const std::string& what) {
    std::string line;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (line.size() <= peer::kMaxLine) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0 || !wait_fd(fd, POLLIN, static_cast<int>(left)))
            throw PeerError(what + ": no answer within " + std::to_string(timeout_ms) + " ms");
        char c = 0;
        const ssize_t n = ::recv(fd, &c, 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw PeerError(what + ": " + errno_text(errno));
        if (n == 0) throw PeerError(what + ": the other side closed the connection" + (line.empty() ? "" : " mid-line"));
        line.push_back(c);
        if (c == '\n') return line;
    }
    throw PeerError(what + ": line longer than " + std::to_string(peer::kMaxLine) + " bytes");
}

Fd connect_to(const peer::Endpoint& ep, int timeout_ms) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(ep.port);
    const int g = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
    if (g != 0) throw PeerError("resolving " + ep.host + ": " + gai_strerror(g));
    std::string last = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
        if (fd.get() < 0) {
            last = errno_text(errno);
            continue;
        }
        if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            last = errno_text(errno);
            continue;
        }
        if (!wait_fd(fd.get(), POLLOUT, timeout_ms)) {
            last = "no answer within " + std::to_string(timeout_ms) + " ms";
            continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            last = errno_text(err);
            continue;
        }
        const int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::freeaddrinfo(res);
        return fd;
    }
    ::freeaddrinfo(res);
    throw PeerError("connecting to " + ep.text() + ": " + last +
                    (last == errno_text(ECONNREFUSED) ? " (is `rdma-agent serve` running there?)" : ""));
}

// One RC QP with its own CQs and a buffer of two regions (send, receive).
struct Endpoint : RcDevice {
    RcQp q;
    uint32_t psn = 0;
    int outstanding = 0;

    uint8_t* send_buf() { return at(0); }
    uint8_t* recv_buf() { return at(1); }
};

std::unique_ptr<Endpoint> make_endpoint(VerbsApi& api, const PortTarget& t, size_t region, std::optional<int> gid_index) {
    auto ep = std::make_unique<Endpoint>();
    open_rc_device(api, *ep, t, 2, std::max<size_t>(region, 64), gid_index, IBV_ACCESS_LOCAL_WRITE);
    ep->q = make_rc_qp(api, *ep, kDepth, 0, "");
    rc_init(api, ep->q.qp.get(), t, t.entity() + " peer QP");  // receives are posted in INIT, before the exchange
    std::random_device rd;
    ep->psn = rd() & 0xffffffU;
    return ep;
}

peer::QpAddress address_of(const Endpoint& ep) {
    peer::QpAddress a;
    a.qpn = ep.q.qp->qp_num;
    a.psn = ep.psn;
    a.lid = ep.port.attr.lid;
    a.gid = ep.port.gid_index >= 0 ? gid_to_string(ep.port.gid) : "::";
    a.mtu = peer::mtu_enum_to_bytes(ep.port.attr.active_mtu);
    return a;
}

RcRemote remote_of(const peer::QpAddress& a) {
    RcRemote r;
    r.qpn = a.qpn;
    r.psn = a.psn;
    r.lid = a.lid;
    ::inet_pton(AF_INET6, a.gid.c_str(), r.gid.raw);  // validated by the parser
    r.mtu = peer::mtu_bytes_to_enum(a.mtu);
    r.hop_limit = 64;  // a routed RoCE v2 path may cross routers
    return r;
}

void post_recv(VerbsApi& api, Endpoint& ep) {
    post_recv_region(api, ep.q.qp.get(), ep.mr.get(), ep.recv_buf(), static_cast<uint32_t>(ep.region), 0, "peer RECV");
}

// Posts a signalled SEND of `len` bytes from the send region; reaps completed sends without
// waiting, and waits only when the send queue would otherwise fill.
void post_send(VerbsApi& api, Endpoint& ep, uint32_t len, int timeout_ms, const char* what) {
    ibv_sge sge{reinterpret_cast<uintptr_t>(ep.send_buf()), len, ep.mr->lkey};
    ibv_send_wr wr{};
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = IBV_WR_SEND;
    wr.send_flags = IBV_SEND_SIGNALED;
    api.post_send(ep.q.qp.get(), wr, what);
    ++ep.outstanding;
    ibv_wc wc{};
    while (ep.outstanding > 0 && api.poll_cq(ep.q.scq.get(), 1, &wc, what) == 1) {
        if (wc.status != IBV_WC_SUCCESS)
            throw VerbsError("ibv_poll_cq", what, "send completion with error status: " + wc_status_name(wc.status));
        --ep.outstanding;
    }
    if (ep.outstanding >= kDepth - 2) {
        wait_completion(api, ep.q.scq.get(), Clock::now() + std::chrono::milliseconds(timeout_ms), what, timeout_ms);
        --ep.outstanding;
    }
}

void drain_sends(VerbsApi& api, Endpoint& ep, int timeout_ms) {
    while (ep.outstanding > 0) {
        wait_completion(api, ep.q.scq.get(), Clock::now() + std::chrono::milliseconds(timeout_ms), "SEND completions",
                        timeout_ms);
        --ep.outstanding;
    }
}

ibv_wc wait_recv(VerbsApi& api, Endpoint& ep, int timeout_ms, const char* what) {
    return wait_completion(api, ep.q.rcq.get(), Clock::now() + std::chrono::milliseconds(timeout_ms), what, timeout_ms);
}

PortTarget choose_port(VerbsApi& api, const PeerLocal& local, const Context& ctx) {
    if (!local.device.empty()) return PortTarget{local.device, static_cast<uint8_t>(local.port > 0 ? local.port : 1)};
    auto sel = select_ports(api, ctx);
    if (sel.targets.empty()) {
        std::string why = sel.fatal.value_or("");
        for (const auto& p : sel.problems) why += (why.empty() ? "" : "; ") + p.message;
        throw PeerError("no local port for RC traffic: " + (why.empty() ? std::string("no ACTIVE port") : why));
    }
    auto t = sel.targets.front();
    if (local.port > 0) t.port = static_cast<uint8_t>(local.port);
    return t;
}

inline uint64_t ticks() noexcept { return __rdtsc(); }

// Serves one connection; returns a one-line summary, throws PeerError/VerbsError on failure
// (after telling the client with an ERROR line where the connection still works).
std::string serve_one(VerbsApi& api, int fd, const ServeOptions& opt, const Context& ctx, const std::string& from) {
    const int tmo = opt.local.timeout_ms;
    auto hello = peer::parse_hello(read_line(fd, tmo, "HELLO from " + from));
    if (!hello.value) {
        send_all(fd, peer::format_error(hello.error), "ERROR to " + from);
        throw PeerError("bad HELLO from " + from + ": " + hello.error);
    }
    const auto& h = *hello.value;
    std::unique_ptr<Endpoint> ep;
    try {
        const auto t = choose_port(api, opt.local, ctx);
        ep = make_endpoint(api, t, std::max(h.verify, h.size), opt.local.gid_index);
        for (int i = 0; i < kDepth; ++i) post_recv(api, *ep);
        rc_connect(api, ep->q.qp.get(), ep->target, ep->port, remote_of(h.qp), ep->psn, ep->target.entity() + " peer QP");
    } catch (const std::exception& e) {
        send_all(fd, peer::format_error(e.what()), "ERROR to " + from);
        throw;
    }
    send_all(fd, peer::format_accept({address_of(*ep), ep->target.entity()}), "ACCEPT to " + from);
    peer::Done done;
    try {
        if (h.verify > 0) {
            const auto wc = wait_recv(api, *ep, tmo, "the pattern's RECV");
            if (wc.byte_len != h.verify)
                throw PeerError("pattern: received " + std::to_string(wc.byte_len) + " bytes, expected " +
                                std::to_string(h.verify));
            const long bad = peer::check_pattern(ep->recv_buf(), h.verify, h.qp.psn);
            if (bad >= 0) throw PeerError("pattern: byte " + std::to_string(bad) + " of " + std::to_string(h.verify) + " differs");
            done.verified = h.verify;
            std::memcpy(ep->send_buf(), ep->recv_buf(), h.verify);
            post_recv(api, *ep);
            post_send(api, *ep, h.verify, tmo, "the pattern's echo SEND");
        }
        for (uint32_t i = 0; i < h.iters; ++i) {
            wait_recv(api, *ep, tmo, "ping RECV");
            post_recv(api, *ep);
            post_send(api, *ep, h.size, tmo, "pong SEND");
            ++done.answered;
        }
        drain_sends(api, *ep, tmo);
    } catch (const std::exception& e) {
        send_all(fd, peer::format_error(e.what()), "ERROR to " + from);
        throw;
    }
    send_all(fd, peer::format_done(done), "DONE to " + from);
    return "served " + from + " on " + ep->target.entity() + ": " + std::to_string(done.verified) +
           " bytes verified and echoed, " + std::to_string(done.answered) + " ping-pongs of " + std::to_string(h.size) +
           " bytes";
}

Fd listen_socket(const ServeOptions& opt) {
    // One sockaddr for either family: a numeric address only (no name lookup for a listener).
    sockaddr_storage ss{};
    socklen_t len = 0;
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (::inet_pton(AF_INET, opt.listen.c_str(), &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(opt.tcp_port);
        len = sizeof *s4;
    } else if (::inet_pton(AF_INET6, opt.listen.c_str(), &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(opt.tcp_port);
        len = sizeof *s6;
    } else {
        throw PeerError("--listen " + opt.listen + ": not an IPv4 or IPv6 address");
    }
    Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw PeerError("socket: " + errno_text(errno));
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
        throw PeerError("bind " + opt.listen + ":" + std::to_string(opt.tcp_port) + ": " + errno_text(errno));
    if (::listen(fd.get(), 4) != 0) throw PeerError("listen: " + errno_text(errno));
    return fd;
}

class PeerCheck final : public Check {
public:
    PeerCheck(std::shared_ptr<VerbsApi> api, PeerCheckOptions opt) : api_(std::move(api)), opt_(std::move(opt)) {}
    std::string_view name() const override { return "peer"; }

    CheckResult run(const Context& ctx) override {
        const auto t0 = Clock::now();
        CheckResult r;
        r.name = "peer";
        for (const auto& p : opt_.peers) r.entities.push_back(one(p, ctx));
        r.status = worst_of(r.entities);
        int ok = 0;
        for (const auto& e : r.entities) ok += e.status == Status::pass;
        if (r.status == Status::pass)
            r.message = "RC traffic and latency with " + std::to_string(ok) + " peer(s): " +
                        (r.entities.size() == 1 ? r.entities.front().message : std::string("all passed"));
        else
            for (const auto& e : r.entities)
                if (e.status != Status::pass) {
                    r.message = std::to_string(r.entities.size() - static_cast<size_t>(ok)) + " of " +
                                std::to_string(r.entities.size()) + " peer(s) failed; first: " + e.name + ": " + e.message;
                    break;
                }
        r.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        return r;
    }

private:
    Entity one(const peer::Endpoint& p, const Context& ctx) {
        Entity e;
        e.name = p.text();
        const int tmo = opt_.local.timeout_ms;
        std::string step = "connect";
        try {
            auto& api = *api_;
            Fd fd = connect_to(p, tmo);
            step = "local QP";
            const auto t = choose_port(api, opt_.local, ctx);
            auto ep = make_endpoint(api, t, std::max(opt_.verify, opt_.size), opt_.local.gid_index);
            for (int i = 0; i < kDepth; ++i) post_recv(api, *ep);
            step = "exchange";
            send_all(fd.get(), peer::format_hello({address_of(*ep), opt_.verify, opt_.size, opt_.iters}), "HELLO");
            auto acc = peer::parse_accept(read_line(fd.get(), tmo, "ACCEPT"));
            if (!acc.value) throw PeerError(acc.error);
            step = "connect QPs";
            rc_connect(api, ep->q.qp.get(), t, ep->port, remote_of(acc.value->qp), ep->psn, t.entity() + " peer QP");
            e.details["local_port"] = t.entity();
            e.details["remote_port"] = acc.value->device;
            e.details["path_mtu"] = std::min(peer::mtu_enum_to_bytes(ep->port.attr.active_mtu), acc.value->qp.mtu);
            step = "pattern";
            if (opt_.verify > 0) {
                peer::fill_pattern(ep->send_buf(), opt_.verify, ep->psn);
                post_send(api, *ep, opt_.verify, tmo, "the pattern's SEND");
                const auto wc = wait_recv(api, *ep, tmo, "the pattern's echo RECV");
                if (wc.byte_len != opt_.verify)
                    throw PeerError("echo of " + std::to_string(wc.byte_len) + " bytes, expected " + std::to_string(opt_.verify));
                const long bad = peer::check_pattern(ep->recv_buf(), opt_.verify, ep->psn);
                if (bad >= 0) throw PeerError("echo: byte " + std::to_string(bad) + " differs from what was sent");
                post_recv(api, *ep);
            }
            e.details["bytes_verified"] = opt_.verify;
            step = "ping-pong";
            std::vector<double> deltas;
            deltas.reserve(opt_.iters);
            const auto c0 = Clock::now();
            const uint64_t k0 = ticks();
            uint64_t prev = k0;
            for (uint32_t i = 0; i < opt_.iters; ++i) {
                post_send(api, *ep, opt_.size, tmo, "ping SEND");
                wait_recv(api, *ep, tmo, "pong RECV");
                const uint64_t now = ticks();
                deltas.push_back(static_cast<double>(now - prev));
                prev = now;
                post_recv(api, *ep);
            }
            const double ns_per_tick =
                std::chrono::duration<double, std::nano>(Clock::now() - c0).count() / static_cast<double>(ticks() - k0);
            drain_sends(api, *ep, tmo);
            step = "DONE";
            auto done = peer::parse_done(read_line(fd.get(), tmo, "DONE"));
            if (!done.value) throw PeerError(done.error);
            if (done.value->answered != opt_.iters || done.value->verified != opt_.verify)
                throw PeerError("peer answered " + std::to_string(done.value->answered) + " of " +
                                std::to_string(opt_.iters) + " pings and verified " + std::to_string(done.value->verified) +
                                " bytes");
            e.details["round_trips"] = opt_.iters;
            e.details["size"] = opt_.size;
            if (opt_.iters >= 5) {
                for (auto& d : deltas) d *= ns_per_tick / 1000.0;
                const auto f = latency_figures(deltas);
                e.details["min_us"] = f.min;
                e.details["median_us"] = f.median;
                e.details["p99_us"] = f.p99;
                e.details["max_us"] = f.max;
                char buf[160];
                std::snprintf(buf, sizeof buf, "median %.1f us, p99 %.1f us (half round trip, %u x %u bytes)", f.median,
                              f.p99, opt_.iters, opt_.size);
                e.message = t.entity() + " -> " + acc.value->device + ": " + std::to_string(opt_.verify) +
                            " bytes verified both ways, " + buf;
            } else {
                e.message = t.entity() + " -> " + acc.value->device + ": " + std::to_string(opt_.verify) +
                            " bytes verified both ways, " + std::to_string(opt_.iters) + " round trips";
            }
            e.status = Status::pass;
        } catch (const std::exception& ex) {
            e.status = Status::fail;
            e.message = step + ": " + ex.what();
        }
        return e;
    }

    std::shared_ptr<VerbsApi> api_;
    PeerCheckOptions opt_;
};

}  // namespace

int serve(std::shared_ptr<VerbsApi> api, const ServeOptions& opt, const Context& ctx) {
    Fd lfd;
    try {
        lfd = listen_socket(opt);
    } catch (const PeerError& e) {
        std::cerr << "serve: " << e.what() << "\n";
        return 3;
    }
    std::cerr << "serve: listening on " << opt.listen << ":" << opt.tcp_port << " for "
              << (opt.connections > 0 ? std::to_string(opt.connections) + " connection(s)" : std::string("connections"))
              << ", exiting after " << opt.idle_timeout_s << " s without one\n" << std::flush;
    int served = 0, failed = 0;
    while (opt.connections == 0 || served + failed < opt.connections) {
        if (!wait_fd(lfd.get(), POLLIN, opt.idle_timeout_s * 1000)) {
            std::cerr << "serve: no connection for " << opt.idle_timeout_s << " s; exiting\n";
            return served + failed == 0 ? 2 : (failed ? 1 : 0);
        }
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        Fd fd(::accept4(lfd.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC));
        if (fd.get() < 0) continue;
        const int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char host[NI_MAXHOST] = "?", port[NI_MAXSERV] = "?";
        ::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, port, sizeof port,
                      NI_NUMERICHOST | NI_NUMERICSERV);
        const std::string from = std::string(host) + ":" + port;
        try {
            const std::string summary = serve_one(*api, fd.get(), opt, ctx, from);
            std::cerr << "serve: " << summary << "\n" << std::flush;
            ++served;
        } catch (const std::exception& e) {
            std::cerr << "serve: " << from << " failed: " << e.what() << "\n" << std::flush;
            ++failed;
        }
    }
    return failed ? 1 : 0;
}

std::unique_ptr<Check> make_peer_check(std::shared_ptr<VerbsApi> api, PeerCheckOptions opt) {
    return std::make_unique<PeerCheck>(std::move(api), std::move(opt));
}

}  // namespace rdma_agent
