// The checks that drive real verbs: verbs (RC SEND/RECV + RDMA WRITE loopback), multicast
// (librdmacm join + UD datagrams), flow_steering (ibv_create_flow) and latency (RC ping-pong
// measured like perftest's ib_send_lat). All verbs calls go through VerbsApi.
#include "verbs_checks.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <random>
#include <thread>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "verbs_api_real.hpp"
#include "verbs_common.hpp"

namespace rdma_agent {

namespace {

using Clock = std::chrono::steady_clock;
using namespace verbs;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

Clock::time_point deadline_in(int ms) { return Clock::now() + std::chrono::milliseconds(ms); }

// Grades a check from its entities; `what` summarises the passing case.
CheckResult finish(CheckResult r, Clock::time_point t0, const std::string& pass_message) {
    r.status = worst_of(r.entities);
    if (r.message.empty()) {
        if (r.status == Status::pass) {
            r.message = pass_message;
        } else {
            for (const auto& e : r.entities) {
                if (e.status == r.status) {
                    r.message = e.name + ": " + e.message;
                    break;
                }
            }
        }
    }
    r.duration_ms = ms_since(t0);
    return r;
}

CheckResult fatal_result(std::string name, const std::string& message, Clock::time_point t0) {
    CheckResult r;
    r.name = std::move(name);
    r.status = Status::fail;
    r.message = message;
    r.duration_ms = ms_since(t0);
    return r;
}

// Selects the ports and turns "nothing to test" into the check's failure.
std::optional<CheckResult> select_or_fail(VerbsApi& api, const Context& ctx, const char* name,
                                          Selection& sel, Clock::time_point t0) {
    sel = select_ports(api, ctx);
    if (sel.fatal) return fatal_result(name, *sel.fatal, t0);
    return std::nullopt;
}

void fill_pattern(uint8_t* p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>((i * 131U + seed + (i >> 8)) & 0xffU);
}

// Offset of the first differing byte, or -1.
long first_mismatch(const uint8_t* a, const uint8_t* b, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (a[i] != b[i]) return static_cast<long>(i);
    return -1;
}

// ------------------------------------------------------------------------------------------
// verbs: SEND/RECV A->B and RDMA WRITE B->A of a pattern buffer on an RC loopback.

Entity run_verbs_port(VerbsApi& api, const PortTarget& t, const VerbsConfig& cfg) {
    Entity e{t.entity(), Status::pass, "", nlohmann::json::object()};
    const auto n = static_cast<size_t>(cfg.bytes);
    RcOptions opt;
    opt.region = n;
    opt.depth = 4;
    auto lb = make_rc_loopback(api, t, opt);
    e.details["link_layer"] = lb->port.ethernet ? "Ethernet" : "InfiniBand";
    e.details["mtu"] = 128 << lb->port.attr.active_mtu;
    if (lb->port.gid_index >= 0) {
        e.details["gid_index"] = lb->port.gid_index;
        e.details["gid"] = gid_to_string(lb->port.gid);
        e.details["gid_type"] = gid_type_name(lb->port.gid_type);
    } else {
        e.details["lid"] = lb->port.attr.lid;
    }
    const auto len = static_cast<uint32_t>(n);

    // SEND A -> B
    fill_pattern(lb->a_send(), n, 0x5a);
    post_recv_region(api, lb->b.qp.get(), lb->mr.get(), lb->b_recv(), len, 1, "RECV on QP B");
    {
        ibv_sge sge{reinterpret_cast<uintptr_t>(lb->a_send()), len, lb->mr->lkey};
        ibv_send_wr wr{};
        wr.wr_id = 2;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_SEND;
        wr.send_flags = IBV_SEND_SIGNALED;
        api.post_send(lb->a.qp.get(), wr, "SEND on QP A");
    }
    const auto deadline = deadline_in(cfg.timeout_ms);
    wait_completion(api, lb->a.scq.get(), deadline, "SEND completion on QP A", cfg.timeout_ms);
    const ibv_wc rwc = wait_completion(api, lb->b.rcq.get(), deadline, "RECV completion on QP B", cfg.timeout_ms);
    if (rwc.byte_len != len) {
        e.status = Status::fail;
        e.message = "RECV on " + t.entity() + " got " + std::to_string(rwc.byte_len) + " bytes, sent " +
                    std::to_string(len);
        return e;
    }
    if (long off = first_mismatch(lb->a_send(), lb->b_recv(), n); off >= 0) {
        e.status = Status::fail;
        e.message = "SEND/RECV data corrupted on " + t.entity() + ": first wrong byte at offset " + std::to_string(off);
        return e;
    }

    // RDMA WRITE B -> A's receive region
    fill_pattern(lb->b_send(), n, 0xa5);
    {
        ibv_sge sge{reinterpret_cast<uintptr_t>(lb->b_send()), len, lb->mr->lkey};
        ibv_send_wr wr{};
        wr.wr_id = 3;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_RDMA_WRITE;
        wr.send_flags = IBV_SEND_SIGNALED;
        wr.wr.rdma.remote_addr = reinterpret_cast<uintptr_t>(lb->a_recv());
        wr.wr.rdma.rkey = lb->mr->rkey;
        api.post_send(lb->b.qp.get(), wr, "RDMA WRITE on QP B");
    }
    wait_completion(api, lb->b.scq.get(), deadline_in(cfg.timeout_ms), "RDMA WRITE completion on QP B",
                    cfg.timeout_ms);
    if (long off = first_mismatch(lb->b_send(), lb->a_recv(), n); off >= 0) {
        e.status = Status::fail;
        e.message = "RDMA WRITE data corrupted on " + t.entity() + ": first wrong byte at offset " + std::to_string(off);
        return e;
    }
    e.details["sends"] = 1;
    e.details["recvs"] = 1;
    e.details["rdma_writes"] = 1;
    e.details["bytes_sent"] = n;
    e.details["bytes_written"] = n;
    e.details["bytes_verified"] = 2 * n;
    e.message = "SEND/RECV and RDMA WRITE of " + std::to_string(n) + " bytes verified";
    return e;
}

class VerbsCheck final : public Check {
public:
    explicit VerbsCheck(std::shared_ptr<VerbsApi> api) : api_(std::move(api)) {}
    std::string_view name() const override { return "verbs"; }
    CheckResult run(const Context& ctx) override {
        const auto t0 = Clock::now();
        const auto& cfg = ctx.config.verbs;
        if (cfg.bytes <= 0 || cfg.timeout_ms <= 0)
            return fatal_result("verbs", "verbs.bytes and verbs.timeout_ms must be positive", t0);
        Selection sel;
        if (auto r = select_or_fail(*api_, ctx, "verbs", sel, t0)) return *r;
        CheckResult res;
        res.name = "verbs";
        res.entities = sel.problems;
        size_t bytes = 0;
        for (const auto& t : sel.targets) {
            try {
                res.entities.push_back(run_verbs_port(*api_, t, cfg));
                if (res.entities.back().status == Status::pass) bytes += 2 * static_cast<size_t>(cfg.bytes);
            } catch (const std::exception& ex) {
                res.entities.push_back({t.entity(), Status::fail, ex.what(), nlohmann::json::object()});
            }
        }
        return finish(std::move(res), t0,
                      "RC SEND/RECV and RDMA WRITE verified on " + std::to_string(sel.targets.size()) +
                          " port(s), " + std::to_string(bytes) + " bytes moved and checked");
    }

private:
    std::shared_ptr<VerbsApi> api_;
};

// ------------------------------------------------------------------------------------------
// multicast: two rdma_cm ids of one process (member + sender) join the group; the sender sends
// N datagrams through the AH from its join event; the member must receive them.
// Other nodes may run the same check on the same group at the same moment (health.yml and the
// deploy's gate run every host in parallel): their datagrams reach our member too. Each run tags
// its datagrams with a random nonce and ignores the others' (counted as "foreign"), and the member
// has room for many more receives than it expects, reposted as they complete, so that a burst
// from other senders cannot use up its queue (seen on the lab: 2-3 of 20 lost when two nodes
// checked at once).

constexpr uint32_t kGrh = 40;       // UD receives start with the 40-byte GRH
constexpr uint32_t kDatagram = 64;  // payload bytes: seq (4), nonce (8), pattern
constexpr size_t kNonceAt = 4;

sockaddr_storage parse_ip(const std::string& text, const char* what) {
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
    } else {
        throw std::invalid_argument(std::string(what) + " '" + text + "' is not an IPv4/IPv6 address");
    }
    return ss;
}

std::string cm_event_name(int ev) {
    static const char* const names[] = {
        "RDMA_CM_EVENT_ADDR_RESOLVED", "RDMA_CM_EVENT_ADDR_ERROR", "RDMA_CM_EVENT_ROUTE_RESOLVED",
        "RDMA_CM_EVENT_ROUTE_ERROR", "RDMA_CM_EVENT_CONNECT_REQUEST", "RDMA_CM_EVENT_CONNECT_RESPONSE",
        "RDMA_CM_EVENT_CONNECT_ERROR", "RDMA_CM_EVENT_UNREACHABLE", "RDMA_CM_EVENT_REJECTED",
        "RDMA_CM_EVENT_ESTABLISHED", "RDMA_CM_EVENT_DISCONNECTED", "RDMA_CM_EVENT_DEVICE_REMOVAL",
        "RDMA_CM_EVENT_MULTICAST_JOIN", "RDMA_CM_EVENT_MULTICAST_ERROR", "RDMA_CM_EVENT_ADDR_CHANGE",
        "RDMA_CM_EVENT_TIMEWAIT_EXIT"};
    if (ev >= 0 && static_cast<size_t>(ev) < std::size(names)) return names[ev];
    return "rdma_cm event " + std::to_string(ev);
}

// Waits for `want` on `id`; any other event for it (an error event) throws with its status.
CmEvent wait_cm_event(VerbsApi& api, rdma_event_channel* ch, rdma_cm_id* id, rdma_cm_event_type want,
                      int timeout_ms, const std::string& obj) {
    const auto deadline = deadline_in(timeout_ms);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        rdma_cm_event* raw = left > 0 ? api.get_cm_event(ch, static_cast<int>(left), obj) : nullptr;
        if (raw == nullptr)
            throw VerbsError("rdma_get_cm_event", obj,
                             "timed out after " + std::to_string(timeout_ms) + " ms waiting for " + cm_event_name(want));
        CmEvent ev(api, raw);
        if (ev->id != id) continue;  // an event of the other id, already handled
        if (ev->event == want) return ev;
        throw VerbsError("rdma_get_cm_event", obj,
                         "got " + cm_event_name(ev->event) + " (status " + std::to_string(ev->status) +
                             (ev->status < 0 ? ": " + std::string(std::strerror(-ev->status)) : std::string()) +
                             ") instead of " + cm_event_name(want));
    }
}

std::optional<std::string> bind_address_for(VerbsApi& api, const Context& ctx, const PortTarget& t) {
    if (ctx.config.multicast.bind_address) return *ctx.config.multicast.bind_address;
    // The netdev behind the port: sysfs gid_attrs/ndevs/<index> of its GIDs (rdma-core's
    // ibv_query_gid_ex reads the same files: libibverbs/verbs.c).
    const std::string dir = "/sys/class/infiniband/" + t.device + "/ports/" + std::to_string(t.port) +
                            "/gid_attrs/ndevs";
    for (const auto& idx : ctx.fs.list(dir)) {
        auto nd = ctx.fs.read(dir + "/" + idx);
        if (!nd) continue;
        std::string name = *nd;
        while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
        if (name.empty()) continue;
        if (auto ip = api.netdev_ipv4(name)) return ip;
    }
    return std::nullopt;
}

Entity run_multicast(VerbsApi& api, const Context& ctx, const std::string& entity_name, const std::string& bind) {
    const auto& cfg = ctx.config.multicast;
    Entity e{cfg.group, Status::pass, "", nlohmann::json::object()};
    e.details["port"] = entity_name;
    e.details["bind_address"] = bind;
    sockaddr_storage src = parse_ip(bind, "multicast.bind_address");
    sockaddr_storage dst = parse_ip(cfg.group, "multicast.group");
    const std::string obj = cfg.group + " via " + bind;

    // Index 0: the member (receives), 1: the sender. Declaration order is creation order, so
    // destruction runs: AH, memberships (leave), QPs, CQs, MR, PD, ids, channel.
    constexpr int kMember = 0, kSender = 1;
    EventChannel ch(api, api.create_event_channel(obj));
    CmId ids[2];
    for (auto& id : ids) {
        id = CmId(api, api.create_id(ch.get(), RDMA_PS_UDP, obj));
        api.resolve_addr(id.get(), reinterpret_cast<sockaddr*>(&src), reinterpret_cast<sockaddr*>(&dst),
                         cfg.timeout_ms, obj);
        wait_cm_event(api, ch.get(), id.get(), RDMA_CM_EVENT_ADDR_RESOLVED, cfg.timeout_ms, obj);
        if (id->verbs == nullptr) throw VerbsError("rdma_resolve_addr", obj, "no RDMA device bound to " + bind);
    }
    ibv_context* verbs_ctx = ids[kMember]->verbs;
    e.details["device"] = verbs_ctx->device != nullptr ? std::string(verbs_ctx->device->name) : "?";
    const auto n = static_cast<uint32_t>(cfg.datagrams);
    const uint32_t slots = std::max<uint32_t>(4 * n, 256);  // receives posted: headroom for other senders
    const uint64_t nonce = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}() ^
                     static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    Pd pd(api, api.alloc_pd(verbs_ctx, obj));
    std::vector<uint8_t> buf((kGrh + kDatagram) * slots + kDatagram * n, 0);
    Mr mr(api, api.reg_mr(pd.get(), buf.data(), buf.size(), IBV_ACCESS_LOCAL_WRITE, obj));
    Cq cqs[2];
    CmIdQp qps[2];
    for (int k : {kMember, kSender}) {
        cqs[k] = Cq(api, api.create_cq(ids[k]->verbs, static_cast<int>(slots + n + 2), nullptr, obj));
        ibv_qp_init_attr ia{};
        ia.send_cq = cqs[k].get();
        ia.recv_cq = cqs[k].get();
        ia.qp_type = IBV_QPT_UD;
        ia.sq_sig_all = 0;
        ia.cap.max_send_wr = n;
        ia.cap.max_recv_wr = k == kMember ? slots : 1;
        ia.cap.max_send_sge = 1;
        ia.cap.max_recv_sge = 1;
        api.create_id_qp(ids[k].get(), pd.get(), ia, obj + " UD QP");
        qps[k] = CmIdQp(api, ids[k].get());
    }
    uint8_t* recv_base = buf.data();
    uint8_t* send_base = buf.data() + (kGrh + kDatagram) * slots;
    auto post_slot = [&](uint64_t i) {
        post_recv_region(api, ids[kMember]->qp, mr.get(), recv_base + i * (kGrh + kDatagram), kGrh + kDatagram, i,
                         "RECV on the multicast member QP");
    };
    for (uint32_t i = 0; i < slots; ++i) post_slot(i);

    McastMembership memberships[2];
    double join_ms = 0;
    uint32_t remote_qpn = 0, remote_qkey = 0;
    ibv_ah_attr ah_attr{};
    for (int k : {kMember, kSender}) {
        const auto tj = Clock::now();
        api.join_multicast(ids[k].get(), reinterpret_cast<sockaddr*>(&dst), nullptr, obj);
        memberships[k].set(api, ids[k].get(), dst);
        CmEvent ev = wait_cm_event(api, ch.get(), ids[k].get(), RDMA_CM_EVENT_MULTICAST_JOIN, cfg.timeout_ms, obj);
        if (k == kMember) join_ms = ms_since(tj);
        if (k == kSender) {
            remote_qpn = ev->param.ud.qp_num;
            remote_qkey = ev->param.ud.qkey;
            ah_attr = ev->param.ud.ah_attr;
        }
    }
    e.details["join_ms"] = join_ms;
    Ah ah(api, api.create_ah(pd.get(), ah_attr, obj + " multicast AH"));

    for (uint32_t i = 0; i < n; ++i) {
        uint8_t* p = send_base + i * kDatagram;
        fill_pattern(p, kDatagram, static_cast<uint8_t>(i));
        std::memcpy(p, &i, sizeof i);
        std::memcpy(p + kNonceAt, &nonce, sizeof nonce);
        ibv_sge sge{reinterpret_cast<uintptr_t>(p), kDatagram, mr->lkey};
        ibv_send_wr wr{};
        wr.wr_id = i;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_SEND;
        wr.send_flags = (i + 1 == n) ? IBV_SEND_SIGNALED : 0;
        wr.wr.ud.ah = ah.get();
        wr.wr.ud.remote_qpn = remote_qpn;
        wr.wr.ud.remote_qkey = remote_qkey;
        api.post_send(ids[kSender]->qp, wr, "UD SEND to the multicast group");
    }
    wait_completion(api, cqs[kSender].get(), deadline_in(cfg.timeout_ms), "UD SEND completion (multicast)",
                    cfg.timeout_ms);

    // Receive on the member until all arrived or the timeout passed.
    uint32_t received = 0, corrupted = 0, foreign = 0;
    const auto deadline = deadline_in(cfg.timeout_ms);
    std::vector<bool> seen(n, false);
    while (received < n && Clock::now() < deadline) {
        ibv_wc wc[16];
        const int got = api.poll_cq(cqs[kMember].get(), 16, wc, "multicast member CQ");
        for (int k = 0; k < got; ++k) {
            if (wc[k].status != IBV_WC_SUCCESS)
                throw VerbsError("ibv_poll_cq", obj, "multicast receive completed with " + wc_status_name(wc[k].status));
            if (wc[k].opcode != IBV_WC_RECV) continue;
            if (wc[k].wr_id >= slots) continue;
            const uint8_t* payload = recv_base + wc[k].wr_id * (kGrh + kDatagram) + kGrh;
            uint32_t seq = 0;
            uint64_t tag = 0;
            std::memcpy(&seq, payload, sizeof seq);
            std::memcpy(&tag, payload + kNonceAt, sizeof tag);
            std::vector<uint8_t> want(kDatagram);
            fill_pattern(want.data(), kDatagram, static_cast<uint8_t>(seq));
            std::memcpy(want.data(), &seq, sizeof seq);
            std::memcpy(want.data() + kNonceAt, &nonce, sizeof nonce);
            if (wc[k].byte_len == kGrh + kDatagram && tag != nonce) {
                ++foreign;  // another sender on the group (another node's check): not ours
            } else if (seq >= n || wc[k].byte_len != kGrh + kDatagram ||
                       std::memcmp(want.data(), payload, kDatagram) != 0) {
                ++corrupted;
            } else if (!seen[seq]) {
                seen[seq] = true;
                ++received;
            }
            if (received < n) post_slot(wc[k].wr_id);
        }
    }
    e.details["sent"] = n;
    e.details["received"] = received;
    e.details["lost"] = n - received;
    e.details["corrupted"] = corrupted;
    e.details["foreign"] = foreign;
    // Leave explicitly so that its result is reported (the owners would leave silently).
    for (auto& m : memberships) {
        if (int err = m.leave(); err != 0)
            throw VerbsError("rdma_leave_multicast", obj, err);
    }
    if (corrupted > 0) {
        e.status = Status::fail;
        e.message = std::to_string(corrupted) + " corrupted datagram(s) received from " + cfg.group;
    } else if (received < n) {
        e.status = Status::fail;
        e.message = "received " + std::to_string(received) + " of " + std::to_string(n) + " datagrams sent to " +
                    cfg.group + " within " + std::to_string(cfg.timeout_ms) + " ms (" + std::to_string(n - received) +
                    " lost" + (foreign > 0 ? "; " + std::to_string(foreign) + " from other senders on the group" : "") +
                    ")";
    } else {
        char jt[32];
        std::snprintf(jt, sizeof jt, "%.1f", join_ms);
        e.message = "joined " + cfg.group + " in " + jt + " ms on " + bind + ", " + std::to_string(received) + "/" +
                    std::to_string(n) + " datagrams received, 0 lost" +
                    (foreign > 0 ? " (" + std::to_string(foreign) + " from other senders on the group ignored)" : "");
    }
    return e;
}

class MulticastCheck final : public Check {
public:
    explicit MulticastCheck(std::shared_ptr<VerbsApi> api) : api_(std::move(api)) {}
    std::string_view name() const override { return "multicast"; }
    CheckResult run(const Context& ctx) override {
        const auto t0 = Clock::now();
        const auto& cfg = ctx.config.multicast;
        if (cfg.datagrams <= 0 || cfg.timeout_ms <= 0)
            return fatal_result("multicast", "multicast.datagrams and multicast.timeout_ms must be positive", t0);
        Selection sel;
        if (auto r = select_or_fail(*api_, ctx, "multicast", sel, t0)) return *r;
        CheckResult res;
        res.name = "multicast";
        res.entities = sel.problems;
        if (sel.targets.empty()) return finish(std::move(res), t0, "");
        // One group membership per node: on the configured address, else on the first port
        // whose netdev has an IPv4 address.
        std::optional<std::string> bind;
        std::string where;
        for (const auto& t : sel.targets) {
            if ((bind = bind_address_for(*api_, ctx, t))) {
                where = t.entity();
                break;
            }
        }
        if (!bind) {
            res.entities.push_back({cfg.group, Status::fail,
                                    "no IPv4 address to bind to: set multicast.bind_address or give the netdev of " +
                                        sel.targets.front().entity() + " an IPv4 address",
                                    nlohmann::json::object()});
            return finish(std::move(res), t0, "");
        }
        try {
            res.entities.push_back(run_multicast(*api_, ctx, where, *bind));
        } catch (const std::exception& ex) {
            res.entities.push_back({cfg.group, Status::fail, ex.what(), nlohmann::json::object()});
        }
        const auto& me = res.entities.back();
        return finish(std::move(res), t0, me.status == Status::pass ? me.message : "");
    }

private:
    std::shared_ptr<VerbsApi> api_;
};


// ------------------------------------------------------------------------------------------
// Multicast fan-out across nodes (rdma-agent mcast recv / send): one endpoint per process.

struct McastEndpoint {
    EventChannel ch;
    CmId id;
    Pd pd;
    std::vector<uint8_t> buf;
    Mr mr;
    Cq cq;
    CmIdQp qp;
    McastMembership membership;
    uint32_t remote_qpn = 0, remote_qkey = 0;
    ibv_ah_attr ah_attr{};
    double join_ms = 0;
    std::string device;
};

std::string fanout_bind(VerbsApi& api, const Context& ctx, const FanoutRequest& req) {
    if (req.bind) return *req.bind;
    Selection sel = select_ports(api, ctx);
    if (sel.targets.empty()) {
        std::string why = sel.fatal.value_or("");
        for (const auto& p : sel.problems) why += (why.empty() ? "" : "; ") + p.message;
        throw std::runtime_error("no RDMA port to join " + req.group + " on: " + why);
    }
    for (const auto& t : sel.targets)
        if (auto b = bind_address_for(api, ctx, t)) return *b;
    throw std::runtime_error("no IPv4 address to bind to for " + req.group + ": pass --bind, or give the netdev of " +
                             sel.targets.front().entity() + " an IPv4 address");
}

// Resolves, creates the UD QP (posting `recvs` receives before the join), joins and keeps the
// join event's address handle attributes.
std::unique_ptr<McastEndpoint> mcast_open(VerbsApi& api, const std::string& bind, const FanoutRequest& req, uint32_t recvs,
                                          uint32_t sends) {
    auto ep = std::make_unique<McastEndpoint>();
    const std::string obj = req.group + " via " + bind;
    sockaddr_storage src = parse_ip(bind, "--bind");
    sockaddr_storage dst = parse_ip(req.group, "--group");
    ep->ch = EventChannel(api, api.create_event_channel(obj));
    ep->id = CmId(api, api.create_id(ep->ch.get(), RDMA_PS_UDP, obj));
    api.resolve_addr(ep->id.get(), reinterpret_cast<sockaddr*>(&src), reinterpret_cast<sockaddr*>(&dst), req.timeout_ms, obj);
    wait_cm_event(api, ep->ch.get(), ep->id.get(), RDMA_CM_EVENT_ADDR_RESOLVED, req.timeout_ms, obj);
    if (ep->id->verbs == nullptr) throw VerbsError("rdma_resolve_addr", obj, "no RDMA device bound to " + bind);
    ep->device = ep->id->verbs->device != nullptr ? std::string(ep->id->verbs->device->name) : "?";
    ep->pd = Pd(api, api.alloc_pd(ep->id->verbs, obj));
    ep->buf.assign((kGrh + kDatagram) * std::max<uint32_t>(recvs, 1) + kDatagram * std::max<uint32_t>(sends, 1), 0);
    ep->mr = Mr(api, api.reg_mr(ep->pd.get(), ep->buf.data(), ep->buf.size(), IBV_ACCESS_LOCAL_WRITE, obj));
    ep->cq = Cq(api, api.create_cq(ep->id->verbs, static_cast<int>(recvs + sends + 2), nullptr, obj));
    ibv_qp_init_attr ia{};
    ia.send_cq = ep->cq.get();
    ia.recv_cq = ep->cq.get();
    ia.qp_type = IBV_QPT_UD;
    ia.cap.max_send_wr = std::max<uint32_t>(sends, 1);
    ia.cap.max_recv_wr = std::max<uint32_t>(recvs, 1);
    ia.cap.max_send_sge = 1;
    ia.cap.max_recv_sge = 1;
    api.create_id_qp(ep->id.get(), ep->pd.get(), ia, obj + " UD QP");
    ep->qp = CmIdQp(api, ep->id.get());
    for (uint32_t i = 0; i < recvs; ++i)
        post_recv_region(api, ep->id->qp, ep->mr.get(), ep->buf.data() + i * (kGrh + kDatagram), kGrh + kDatagram, i,
                         "RECV on the multicast QP");
    const auto tj = Clock::now();
    api.join_multicast(ep->id.get(), reinterpret_cast<sockaddr*>(&dst), nullptr, obj);
    ep->membership.set(api, ep->id.get(), dst);
    CmEvent ev = wait_cm_event(api, ep->ch.get(), ep->id.get(), RDMA_CM_EVENT_MULTICAST_JOIN, req.timeout_ms, obj);
    ep->join_ms = ms_since(tj);
    ep->remote_qpn = ev->param.ud.qp_num;
    ep->remote_qkey = ev->param.ud.qkey;
    ep->ah_attr = ev->param.ud.ah_attr;
    return ep;
}

void validate(const FanoutRequest& req) {
    if (req.count < 1 || req.count > 100000) throw std::invalid_argument("--count must be 1..100000");
    if (req.timeout_ms <= 0) throw std::invalid_argument("--timeout-ms must be positive");
    if (req.interval_us < 0) throw std::invalid_argument("--interval-us must not be negative");
}

}  // namespace

nlohmann::json mcast_receive(VerbsApi& api, const Context& ctx, const FanoutRequest& req) {
    validate(req);
    const std::string bind = fanout_bind(api, ctx, req);
    const auto n = static_cast<uint32_t>(req.count);
    auto ep = mcast_open(api, bind, req, n, 0);
    if (!req.ready_file.empty()) {  // the orchestrator starts the sender once every receiver joined
        const std::string tmp = req.ready_file + ".tmp";
        if (FILE* f = std::fopen(tmp.c_str(), "w")) {
            std::fprintf(f, "joined %s on %s (%s)\n", req.group.c_str(), bind.c_str(), ep->device.c_str());
            std::fclose(f);
            std::rename(tmp.c_str(), req.ready_file.c_str());
        } else {
            throw std::runtime_error("--ready-file " + req.ready_file + ": " + std::strerror(errno));
        }
    }
    uint32_t received = 0, corrupted = 0;
    std::vector<bool> seen(n, false);
    const auto deadline = deadline_in(req.timeout_ms);
    Clock::time_point first{}, last{};
    while (received < n && Clock::now() < deadline) {
        ibv_wc wc[16];
        const int got = api.poll_cq(ep->cq.get(), 16, wc, "multicast receive CQ");
        for (int k = 0; k < got; ++k) {
            if (wc[k].status != IBV_WC_SUCCESS)
                throw VerbsError("ibv_poll_cq", req.group, "multicast receive completed with " + wc_status_name(wc[k].status));
            if (wc[k].opcode != IBV_WC_RECV) continue;
            const uint8_t* payload = ep->buf.data() + wc[k].wr_id * (kGrh + kDatagram) + kGrh;
            uint32_t seq = 0;
            std::memcpy(&seq, payload, sizeof seq);
            std::vector<uint8_t> want(kDatagram);
            fill_pattern(want.data(), kDatagram, static_cast<uint8_t>(seq));
            std::memcpy(want.data(), &seq, sizeof seq);
            if (seq >= n || wc[k].byte_len != kGrh + kDatagram || std::memcmp(want.data(), payload, kDatagram) != 0) {
                ++corrupted;
            } else if (!seen[seq]) {
                seen[seq] = true;
                if (received == 0) first = Clock::now();
                last = Clock::now();
                ++received;
            }
        }
    }
    nlohmann::json missing = nlohmann::json::array();
    for (uint32_t i = 0; i < n && missing.size() < 20; ++i)
        if (!seen[i]) missing.push_back(i);
    if (int err = ep->membership.leave(); err != 0) throw VerbsError("rdma_leave_multicast", req.group, err);
    return {{"role", "receiver"}, {"group", req.group}, {"bind", bind}, {"device", ep->device},
            {"join_ms", ep->join_ms}, {"expected", n}, {"received", received}, {"lost", n - received},
            {"corrupted", corrupted}, {"first_missing", missing},
            {"receive_ms", received > 0 ? std::chrono::duration<double, std::milli>(last - first).count() : 0.0}};
}

nlohmann::json mcast_send(VerbsApi& api, const Context& ctx, const FanoutRequest& req) {
    validate(req);
    const std::string bind = fanout_bind(api, ctx, req);
    const auto n = static_cast<uint32_t>(req.count);
    auto ep = mcast_open(api, bind, req, 0, n);
    Ah ah(api, api.create_ah(ep->pd.get(), ep->ah_attr, req.group + " multicast AH"));
    uint8_t* send_base = ep->buf.data() + (kGrh + kDatagram);
    const auto t0 = Clock::now();
    for (uint32_t i = 0; i < n; ++i) {
        uint8_t* p = send_base + i * kDatagram;
        fill_pattern(p, kDatagram, static_cast<uint8_t>(i));
        std::memcpy(p, &i, sizeof i);
        ibv_sge sge{reinterpret_cast<uintptr_t>(p), kDatagram, ep->mr->lkey};
        ibv_send_wr wr{};
        wr.wr_id = i;
        wr.sg_list = &sge;
        wr.num_sge = 1;
        wr.opcode = IBV_WR_SEND;
        wr.send_flags = IBV_SEND_SIGNALED;
        wr.wr.ud.ah = ah.get();
        wr.wr.ud.remote_qpn = ep->remote_qpn;
        wr.wr.ud.remote_qkey = ep->remote_qkey;
        api.post_send(ep->id->qp, wr, "UD SEND to the multicast group");
        wait_completion(api, ep->cq.get(), deadline_in(req.timeout_ms), "UD SEND completion (multicast)", req.timeout_ms);
        if (req.interval_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(req.interval_us));
    }
    const double send_ms = ms_since(t0);
    if (int err = ep->membership.leave(); err != 0) throw VerbsError("rdma_leave_multicast", req.group, err);
    return {{"role", "sender"}, {"group", req.group}, {"bind", bind}, {"device", ep->device},
            {"join_ms", ep->join_ms}, {"sent", n}, {"send_ms", send_ms}};
}

namespace {

// ------------------------------------------------------------------------------------------
// flow_steering

Entity unsupported(const PortTarget& t, bool required, const std::string& why) {
    return {t.entity(), required ? Status::fail : Status::skip,
            "device-managed flow steering unsupported by device " + t.device + " (" + why + ")" +
                (required ? "; flow_steering.required is true" : "; not required by the config"),
            nlohmann::json{{"supported", 0}}};
}

Entity run_flow_port(VerbsApi& api, const PortTarget& t, bool required) {
    DeviceContext dev(api, api.open_device(t.device));
    const auto attr = api.query_device_ex(dev.get(), t.device);
    if ((attr.device_cap_flags_ex & IBV_DEVICE_MANAGED_FLOW_STEERING) == 0)
        return unsupported(t, required, "IBV_DEVICE_MANAGED_FLOW_STEERING not reported");
    const auto pa = api.query_port(dev.get(), t.port, t.entity());
    const bool eth = pa.link_layer == IBV_LINK_LAYER_ETHERNET;
    Pd pd(api, api.alloc_pd(dev.get(), t.entity()));
    Cq cq(api, api.create_cq(dev.get(), 4, nullptr, t.entity()));
    ibv_qp_init_attr ia{};
    ia.send_cq = cq.get();
    ia.recv_cq = cq.get();
    // Ethernet: a raw packet QP (needs CAP_NET_RAW); InfiniBand: UD.
    ia.qp_type = eth ? IBV_QPT_RAW_PACKET : IBV_QPT_UD;
    ia.cap.max_send_wr = 1;
    ia.cap.max_recv_wr = 1;
    ia.cap.max_send_sge = 1;
    ia.cap.max_recv_sge = 1;
    const char* qptype = eth ? "RAW_PACKET" : "UD";
    Qp qp;
    try {
        qp = Qp(api, api.create_qp(pd.get(), ia, t.entity() + " " + qptype + " QP"));
        ibv_qp_attr a{};
        a.qp_state = IBV_QPS_INIT;
        a.port_num = t.port;
        int mask = IBV_QP_STATE | IBV_QP_PORT;
        if (!eth) {
            a.qkey = 0x11111111;
            mask |= IBV_QP_PKEY_INDEX | IBV_QP_QKEY;
        }
        api.modify_qp(qp.get(), a, mask, t.entity() + " " + qptype + " QP -> INIT");
    } catch (const VerbsError& ex) {
        if (ex.error() == EPERM || ex.error() == EACCES)
            return {t.entity(), Status::fail,
                    std::string(ex.what()) + ": a " + qptype + " QP for flow steering needs CAP_NET_RAW (run as root)",
                    nlohmann::json::object()};
        throw;
    }
    // eth (IPv4 ethertype) + ipv4 (dst 192.0.2.1, TEST-NET-1) + udp (dst 4791); values and masks
    // in network byte order (ibv_create_flow(3)).
    struct Rule {
        ibv_flow_attr attr;
        ibv_flow_spec_eth eth;
        ibv_flow_spec_ipv4 ipv4;
        ibv_flow_spec_tcp_udp udp;
    } rule{};
    // libibverbs walks the specs by their `size` fields: they must follow each other without gaps.
    static_assert(offsetof(Rule, eth) == sizeof(ibv_flow_attr));
    static_assert(offsetof(Rule, ipv4) == offsetof(Rule, eth) + sizeof(ibv_flow_spec_eth));
    static_assert(offsetof(Rule, udp) == offsetof(Rule, ipv4) + sizeof(ibv_flow_spec_ipv4));
    rule.attr.type = IBV_FLOW_ATTR_NORMAL;
    rule.attr.size = sizeof rule;
    rule.attr.num_of_specs = 3;
    rule.attr.port = t.port;
    rule.eth.type = IBV_FLOW_SPEC_ETH;
    rule.eth.size = sizeof rule.eth;
    rule.eth.val.ether_type = htons(0x0800);
    rule.eth.mask.ether_type = 0xffff;
    rule.ipv4.type = IBV_FLOW_SPEC_IPV4;
    rule.ipv4.size = sizeof rule.ipv4;
    inet_pton(AF_INET, "192.0.2.1", &rule.ipv4.val.dst_ip);
    rule.ipv4.mask.dst_ip = 0xffffffffU;
    rule.udp.type = IBV_FLOW_SPEC_UDP;
    rule.udp.size = sizeof rule.udp;
    rule.udp.val.dst_port = htons(4791);
    rule.udp.mask.dst_port = 0xffff;
    try {
        Flow flow(api, api.create_flow(qp.get(), &rule.attr, t.entity() + " eth+ipv4+udp rule"));
        if (const int err = api.destroy_flow(flow.release()); err != 0)
            throw VerbsError("ibv_destroy_flow", t.entity(), err);
    } catch (const VerbsError& ex) {
        switch (ex.error()) {
            case ENXIO: return unsupported(t, required, std::string(ex.what()) + ": device-managed steering not enabled");
            case EOPNOTSUPP:
            case ENOSYS: return unsupported(t, required, std::string(ex.what()) + ": the provider or kernel lacks the verb");
            case EPERM:
            case EACCES:
                return {t.entity(), Status::fail, std::string(ex.what()) + ": creating a flow rule needs CAP_NET_RAW",
                        nlohmann::json::object()};
            default: throw;
        }
    }
    return {t.entity(), Status::pass, "eth+ipv4+udp flow rule created and destroyed on a " + std::string(qptype) + " QP",
            nlohmann::json{{"supported", 1}}};
}

class FlowSteeringCheck final : public Check {
public:
    explicit FlowSteeringCheck(std::shared_ptr<VerbsApi> api) : api_(std::move(api)) {}
    std::string_view name() const override { return "flow_steering"; }
    CheckResult run(const Context& ctx) override {
        const auto t0 = Clock::now();
        Selection sel;
        if (auto r = select_or_fail(*api_, ctx, "flow_steering", sel, t0)) return *r;
        CheckResult res;
        res.name = "flow_steering";
        res.entities = sel.problems;
        for (const auto& t : sel.targets) {
            try {
                res.entities.push_back(run_flow_port(*api_, t, ctx.config.flow_steering.required));
            } catch (const std::exception& ex) {
                res.entities.push_back({t.entity(), Status::fail, ex.what(), nlohmann::json::object()});
            }
        }
        return finish(std::move(res), t0, "device-managed flow steering works on every port");
    }

private:
    std::shared_ptr<VerbsApi> api_;
};

// ------------------------------------------------------------------------------------------
// latency

class LatencyCheck final : public Check {
public:
    explicit LatencyCheck(std::shared_ptr<VerbsApi> api) : api_(std::move(api)) {}
    std::string_view name() const override { return "latency"; }
    CheckResult run(const Context& ctx) override {
        const auto t0 = Clock::now();
        const auto& cfg = ctx.config.latency;
        if (!cfg.median_budget_us && !cfg.p99_budget_us) {
            CheckResult r;
            r.name = "latency";
            r.status = Status::skip;
            r.message = "no latency budget configured (latency.budget_us.median / p99)";
            r.duration_ms = ms_since(t0);
            return r;
        }
        Selection sel;
        if (auto r = select_or_fail(*api_, ctx, "latency", sel, t0)) return *r;
        CheckResult res;
        res.name = "latency";
        res.entities = sel.problems;
        for (const auto& t : sel.targets) {
            Entity e{t.entity(), Status::pass, "", nlohmann::json::object()};
            try {
                LatencyRequest req;
                req.device = t.device;
                req.port = t.port;
                req.size = cfg.size;
                req.iters = cfg.iters;
                // One thread plays both sides: a health check must not need two idle CPUs on a
                // production node, and on the 2-vCPU lab nodes it is far steadier under host load
                // (median 21-22 us every run) than two polling threads (13 us to 4 ms).
                // `rdma-agent latency` keeps the responder thread to mirror ib_send_lat.
                req.responder_thread = false;
                const LatencyStats s = measure_latency(*api_, req);
                e.details = {{"size", s.size},        {"iters", s.iters},         {"gid_index", s.gid_index},
                             {"min_us", s.min_us},    {"median_us", s.median_us}, {"average_us", s.average_us},
                             {"p99_us", s.p99_us},    {"p999_us", s.p999_us},     {"max_us", s.max_us}};
                char text[160];
                std::snprintf(text, sizeof text, "median %.2f us, p99 %.2f us (size %d, %d iters)", s.median_us,
                              s.p99_us, s.size, s.iters);
                e.message = text;
                std::string over;
                if (cfg.median_budget_us && s.median_us > *cfg.median_budget_us) {
                    std::snprintf(text, sizeof text, "median %.2f us exceeds the budget of %.2f us", s.median_us,
                                  *cfg.median_budget_us);
                    over = text;
                }
                if (cfg.p99_budget_us && s.p99_us > *cfg.p99_budget_us) {
                    std::snprintf(text, sizeof text, "p99 %.2f us exceeds the budget of %.2f us", s.p99_us,
                                  *cfg.p99_budget_us);
                    over += (over.empty() ? "" : "; ") + std::string(text);
                }
                if (!over.empty()) {
                    e.status = Status::fail;
                    e.message = over;
                }
            } catch (const std::exception& ex) {
                e.status = Status::fail;
                e.message = ex.what();
            }
            res.entities.push_back(std::move(e));
        }
        return finish(std::move(res), t0, "RC loopback latency within budget" +
                                              (res.entities.size() == 1 ? ": " + res.entities[0].message : ""));
    }

private:
    std::shared_ptr<VerbsApi> api_;
};

}  // namespace

// ------------------------------------------------------------------------------------------

std::shared_ptr<VerbsApi> make_real_verbs_api() { return std::make_shared<RealVerbsApi>(); }
std::unique_ptr<Check> make_verbs_check(std::shared_ptr<VerbsApi> api) { return std::make_unique<VerbsCheck>(std::move(api)); }
std::unique_ptr<Check> make_multicast_check(std::shared_ptr<VerbsApi> api) { return std::make_unique<MulticastCheck>(std::move(api)); }
std::unique_ptr<Check> make_flow_steering_check(std::shared_ptr<VerbsApi> api) { return std::make_unique<FlowSteeringCheck>(std::move(api)); }
std::unique_ptr<Check> make_latency_check(std::shared_ptr<VerbsApi> api) { return std::make_unique<LatencyCheck>(std::move(api)); }

std::optional<bool> managed_flow_steering(VerbsApi& api, const std::string& ibdev) {
    try {
        DeviceContext dev(api, api.open_device(ibdev));
        return (api.query_device_ex(dev.get(), ibdev).device_cap_flags_ex & IBV_DEVICE_MANAGED_FLOW_STEERING) != 0;
    } catch (const VerbsError&) {
        return std::nullopt;
    }
}

namespace {
struct PeerStopped {};  // the other side of the ping-pong failed: stop waiting

// Timestamps of the latency samples: the TSC on x86, what perftest's get_cycles() reads (a few
// ns), else steady_clock's count. clock_gettime is not free everywhere: on the TCG lab node the
// kernel finds the vCPUs' TSCs unsynchronized and falls back to the HPET clocksource, where one
// call costs ~3 us, and that was inside every round trip (docs/BENCHMARKS.md). Ticks become time
// with the rate measured against steady_clock over the whole run (>= a few ms, so two clock
// reads cost nothing in precision). The thread is not pinned, like ib_send_lat without taskset:
// pinning both busy-polling sides on the 2-vCPU rxe node starved rxe's softirq work and gave
// millisecond medians to both tools (docs/BENCHMARKS.md). A TSC step between CPUs would show as
// a negative minimum (deltas are signed), never hidden.
inline uint64_t ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    return static_cast<uint64_t>(Clock::now().time_since_epoch().count());
#endif
}

}  // namespace

// RC ping-pong between QP A and QP B of one process, busy-polling the CQs like ib_send_lat
// (no completion channel). Timestamps are taken at each ping post, like perftest's tposted[],
// so each sample is one full round trip including the loop; latency_figures() halves it.
// Nothing but the ping-pong runs inside a round trip: the timestamp is one TSC read, and the
// timeouts read the clock only after 256 empty polls (the deadline starts then), never on the
// fast path.
LatencyStats measure_latency(VerbsApi& api, const LatencyRequest& req) {
    if (req.iters < 5) throw std::invalid_argument("latency: iters must be at least 5, got " + std::to_string(req.iters));
    if (req.size < 1 || req.size > (1 << 24))
        throw std::invalid_argument("latency: size must be 1..16777216 bytes, got " + std::to_string(req.size));
    if (req.port < 1 || req.port > 255) throw std::invalid_argument("latency: port must be 1..255");
    if (req.timeout_ms <= 0) throw std::invalid_argument("latency: timeout_ms must be positive");
    verbs::PortTarget t;
    t.device = req.device;
    t.port = static_cast<uint8_t>(req.port);
    if (t.device.empty()) {
        const auto names = api.device_names();
        if (names.empty()) throw VerbsError("ibv_get_device_list", "libibverbs", "no RDMA device found");
        t.device = names.front();
    }
    constexpr int kDepth = 128;
    constexpr int kSignalEvery = 32;  // selective signalling, like perftest's cq_mod
    verbs::RcOptions opt;
    opt.region = static_cast<size_t>(req.size);
    opt.depth = kDepth;
    opt.inline_size = req.inline_size > 0 && req.size <= req.inline_size ? static_cast<uint32_t>(req.inline_size) : 0;
    opt.gid_index = req.gid_index;
    auto lb = verbs::make_rc_loopback(api, t, opt);
    const auto len = static_cast<uint32_t>(req.size);
    for (int i = 0; i < kDepth; ++i) {
        verbs::post_recv_region(api, lb->a.qp.get(), lb->mr.get(), lb->a_recv(), len, 0, "RECV on QP A");
        verbs::post_recv_region(api, lb->b.qp.get(), lb->mr.get(), lb->b_recv(), len, 0, "RECV on QP B");
    }
    const unsigned inline_flag = opt.inline_size > 0 && lb->a.max_inline >= len ? static_cast<unsigned>(IBV_SEND_INLINE) : 0U;
    const auto timeout = std::chrono::milliseconds(req.timeout_ms);

    // One side of the ping-pong: its QP, send/recv CQs and buffers.
    struct Side {
        ibv_qp* qp;
        ibv_cq* scq;
        ibv_cq* rcq;
        ibv_sge sge, rsge;
        ibv_send_wr wr{};
        ibv_recv_wr rwr{};
        int outstanding = 0;  // signalled sends not yet reaped
        const char* send_what;
        const char* recv_what;
        const char* reap_what;
    };
    Side a{lb->a.qp.get(), lb->a.scq.get(), lb->a.rcq.get(),
           {reinterpret_cast<uintptr_t>(lb->a_send()), len, lb->mr->lkey},
           {reinterpret_cast<uintptr_t>(lb->a_recv()), len, lb->mr->lkey},
           {}, {}, 0, "ping SEND on QP A", "pong RECV on QP A", "SEND completions on QP A"};
    Side b{lb->b.qp.get(), lb->b.scq.get(), lb->b.rcq.get(),
           {reinterpret_cast<uintptr_t>(lb->b_send()), len, lb->mr->lkey},
           {reinterpret_cast<uintptr_t>(lb->b_recv()), len, lb->mr->lkey},
           {}, {}, 0, "pong SEND on QP B", "ping RECV on QP B", "SEND completions on QP B"};
    for (Side* s : {&a, &b}) {
        s->wr.sg_list = &s->sge;
        s->wr.num_sge = 1;
        s->wr.opcode = IBV_WR_SEND;
        s->rwr.sg_list = &s->rsge;
        s->rwr.num_sge = 1;
    }
    std::atomic<bool> stop{false};
    auto send = [&](Side& s, int i) {
        const bool signal = (i % kSignalEvery) == kSignalEvery - 1;
        s.wr.send_flags = inline_flag | (signal ? static_cast<unsigned>(IBV_SEND_SIGNALED) : 0U);
        api.post_send(s.qp, s.wr, s.send_what);
        if (signal) ++s.outstanding;
    };
    // Busy-polls the receive CQ (no completion channel, like ib_send_lat), then reposts. The
    // deadline (`limit` from the first check, 256 polls in) is read lazily: no clock on the fast path.
    auto receive = [&](Side& s, Clock::duration limit) {
        ibv_wc wc{};
        std::optional<Clock::time_point> dl;
        for (unsigned spin = 0;; ++spin) {
            if (api.poll_cq(s.rcq, 1, &wc, s.recv_what) == 1) break;
            if ((spin & 255U) == 255U) {
                const auto now = Clock::now();
                if (!dl) dl = now + limit;
                else if (now > *dl)
                    throw VerbsError("ibv_poll_cq", s.recv_what,
                                     "timed out after " + std::to_string(req.timeout_ms) + " ms waiting for the completion");
                if (stop.load(std::memory_order_relaxed)) throw PeerStopped{};
            }
        }
        if (wc.status != IBV_WC_SUCCESS)
            throw VerbsError("ibv_poll_cq", s.recv_what, "completion with error status: " + verbs::wc_status_name(wc.status));
        api.post_recv(s.qp, s.rwr, s.recv_what);
    };
    // Reaps signalled send completions; blocks only when two are outstanding (queue filling up).
    auto reap = [&](Side& s, Clock::duration limit) {
        ibv_wc wc{};
        std::optional<Clock::time_point> dl;
        for (unsigned spin = 0; s.outstanding > 0; ++spin) {
            if (api.poll_cq(s.scq, 1, &wc, s.reap_what) == 1) {
                if (wc.status != IBV_WC_SUCCESS)
                    throw VerbsError("ibv_poll_cq", s.reap_what, "completion with error status: " + verbs::wc_status_name(wc.status));
                --s.outstanding;
                continue;
            }
            if (s.outstanding < 2) return;
            if ((spin & 255U) == 255U) {
                const auto now = Clock::now();
                if (!dl) dl = now + limit;
                else if (now > *dl)
                    throw VerbsError("ibv_poll_cq", s.reap_what, "timed out after " + std::to_string(req.timeout_ms) + " ms");
            }
        }
    };
    auto responder = [&] {  // side B: answer every ping
        for (int i = 0; i < req.iters; ++i) {
            // twice the timeout: a lost ping is reported by the measuring side (its round trip)
            receive(b, 2 * timeout);
            send(b, i);
            reap(b, 2 * timeout);
        }
    };
    std::vector<uint64_t> posted(static_cast<size_t>(req.iters));
    Clock::time_point run_start, run_end;
    uint64_t ticks_start = 0, ticks_end = 0;
    std::exception_ptr responder_error;
    std::thread responder_thread;
    if (req.responder_thread) {
        responder_thread = std::thread([&] {
            try {
                responder();
            } catch (const PeerStopped&) {
                // the measuring side failed first and reports its own error
            } catch (...) {
                responder_error = std::current_exception();
                stop = true;
            }
        });
    }
    try {
        run_start = Clock::now();
        ticks_start = ticks();
        for (int i = 0; i < req.iters; ++i) {
            posted[static_cast<size_t>(i)] = ticks();
            send(a, i);
            if (!req.responder_thread) {
                receive(b, timeout);
                send(b, i);
            }
            receive(a, timeout);
            reap(a, timeout);
            if (!req.responder_thread) reap(b, timeout);
        }
        ticks_end = ticks();
        run_end = Clock::now();
    } catch (const PeerStopped&) {  // the responder failed: its error is the cause
        if (responder_thread.joinable()) responder_thread.join();
        std::rethrow_exception(responder_error);
    } catch (...) {
        stop = true;
        if (responder_thread.joinable()) responder_thread.join();
        throw;
    }
    if (responder_thread.joinable()) responder_thread.join();
    if (responder_error) std::rethrow_exception(responder_error);
    const double run_us = std::chrono::duration<double, std::micro>(run_end - run_start).count();
    if (ticks_end <= ticks_start || run_us <= 0)
        throw std::runtime_error("latency: the timestamp counter did not advance during the run (TSC unusable)");
    const double ticks_per_us = static_cast<double>(ticks_end - ticks_start) / run_us;
    std::vector<double> deltas;
    deltas.reserve(posted.size());
    for (size_t i = 1; i < posted.size(); ++i)  // signed: a clock artifact shows as a negative minimum
        deltas.push_back(static_cast<double>(static_cast<int64_t>(posted[i] - posted[i - 1])) / ticks_per_us);
    LatencyStats s;
    if (req.keep_samples) {
        s.samples_us.reserve(deltas.size());
        for (const double d : deltas) s.samples_us.push_back(d / 2);  // half round trip, like the figures
    }
    const auto f = verbs::latency_figures(std::move(deltas));
    s.device = t.device;
    s.port = req.port;
    s.gid_index = lb->port.gid_index;
    s.size = req.size;
    s.iters = req.iters;
    s.min_us = f.min;
    s.median_us = f.median;
    s.average_us = f.average;
    s.p99_us = f.p99;
    s.p999_us = f.p999;
    s.max_us = f.max;
    return s;
}

}  // namespace rdma_agent
