#include "fake_verbs.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rdma_agent::test {

namespace {
constexpr uint32_t kMcastQpn = 0xFFFFFF;
constexpr uint32_t kQkey = 0x01234567;

ibv_gid gid_from(const char* text) {
    ibv_gid g{};
    inet_pton(AF_INET6, text, g.raw);
    return g;
}
}  // namespace

FakeDevice rxe_device(const std::string& name) {
    FakeDevice d;
    d.name = name;
    FakePort p;
    const char* texts[] = {"fe80::5054:ff:fe12:3456", "fe80::5054:ff:fe12:3456", "::ffff:10.77.0.11",
                           "::ffff:10.77.0.11"};
    const uint32_t types[] = {IBV_GID_TYPE_ROCE_V1, IBV_GID_TYPE_ROCE_V2, IBV_GID_TYPE_ROCE_V1, IBV_GID_TYPE_ROCE_V2};
    for (uint32_t i = 0; i < 4; ++i) {
        ibv_gid_entry e{};
        e.gid = gid_from(texts[i]);
        e.gid_index = i;
        e.gid_type = types[i];
        e.ndev_ifindex = 3;
        p.gids.push_back(e);
    }
    d.ports.push_back(p);
    return d;
}

FakeVerbs::FakeVerbs() = default;

FakeVerbs::~FakeVerbs() {
    for (auto* c : cm_contexts_) delete c;
    for (auto& [ch, q] : events_)
        for (auto* ev : q) delete ev;
}

void FakeVerbs::add_device(FakeDevice d) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    DevState s;
    for (size_t i = 0; i < d.ports.size(); ++i)
        for (auto& g : d.ports[i].gids) g.port_num = static_cast<uint32_t>(i + 1);
    s.ibdev = std::make_unique<ibv_device>();
    std::snprintf(s.ibdev->name, sizeof s.ibdev->name, "%s", d.name.c_str());
    s.dev = std::move(d);
    devices_.push_back(std::move(s));
}

void FakeVerbs::fail(const std::string& call, int err, int nth) { fail_[call] = {nth, err}; }

size_t FakeVerbs::count(const std::string& call) const { return static_cast<size_t>(std::count(log.begin(), log.end(), call)); }
long FakeVerbs::first(const std::string& call) const {
    auto it = std::find(log.begin(), log.end(), call);
    return it == log.end() ? -1 : static_cast<long>(it - log.begin());
}
long FakeVerbs::last(const std::string& call) const {
    auto it = std::find(log.rbegin(), log.rend(), call);
    return it == log.rend() ? -1 : static_cast<long>(log.rend() - it - 1);
}

void FakeVerbs::enter(const std::string& call, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.push_back(call);
    const int n = ++calls_[call];
    auto it = fail_.find(call);
    if (it != fail_.end() && it->second.first == n) throw VerbsError(call, obj, it->second.second);
}

FakeVerbs::DevState& FakeVerbs::dev_of(ibv_context* ctx) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    const std::string& name = contexts_.at(ctx);
    for (auto& d : devices_)
        if (d.dev.name == name) return d;
    throw std::logic_error("fake: unknown device " + name);
}

void FakeVerbs::push_wc(ibv_cq* cq, const ibv_wc& wc) { cqs_[cq].push_back(wc); }

std::vector<std::string> FakeVerbs::device_names() {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_get_device_list", "libibverbs");
    std::vector<std::string> v;
    for (const auto& d : devices_) v.push_back(d.dev.name);
    return v;
}

ibv_context* FakeVerbs::open_device(const std::string& name) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_open_device", name);
    for (auto& d : devices_) {
        if (d.dev.name != name) continue;
        auto* ctx = new ibv_context{};
        ctx->device = d.ibdev.get();
        contexts_[ctx] = name;
        ++live_;
        return ctx;
    }
    throw VerbsError("ibv_open_device", name, ENODEV);
}

int FakeVerbs::close_device(ibv_context* ctx) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("ibv_close_device");
    if (busy(ctx, "ibv_close_device")) return EBUSY;
    contexts_.erase(ctx);
    delete ctx;
    --live_;
    return 0;
}

ibv_device_attr_ex FakeVerbs::query_device_ex(ibv_context* ctx, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_query_device_ex", obj);
    ibv_device_attr_ex a{};
    const auto& d = dev_of(ctx).dev;
    a.orig_attr.phys_port_cnt = static_cast<uint8_t>(d.ports.size());
    a.device_cap_flags_ex = d.cap_flags_ex;
    return a;
}

ibv_port_attr FakeVerbs::query_port(ibv_context* ctx, uint8_t port, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_query_port", obj);
    const auto& d = dev_of(ctx).dev;
    if (port < 1 || port > d.ports.size()) throw VerbsError("ibv_query_port", obj, EINVAL);
    const auto& p = d.ports[port - 1];
    ibv_port_attr a{};
    a.state = p.state;
    a.link_layer = p.link_layer;
    a.lid = p.lid;
    a.active_mtu = p.mtu;
    a.max_mtu = p.mtu;
    a.gid_tbl_len = static_cast<int>(p.gids.size());
    return a;
}

std::vector<ibv_gid_entry> FakeVerbs::query_gid_table(ibv_context* ctx, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_query_gid_table", obj);
    std::vector<ibv_gid_entry> v;
    for (const auto& p : dev_of(ctx).dev.ports) v.insert(v.end(), p.gids.begin(), p.gids.end());
    return v;
}

ibv_pd* FakeVerbs::alloc_pd(ibv_context* ctx, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_alloc_pd", obj);
    auto* pd = new ibv_pd{};
    pd->context = ctx;
    hold(ctx);
    ++live_;
    return pd;
}
int FakeVerbs::dealloc_pd(ibv_pd* pd) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("ibv_dealloc_pd");
    if (busy(pd, "ibv_dealloc_pd")) return EBUSY;
    drop(pd->context);
    delete pd;
    --live_;
    return 0;
}

ibv_mr* FakeVerbs::reg_mr(ibv_pd* pd, void* addr, size_t len, int, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_reg_mr", obj);
    auto* mr = new ibv_mr{};
    mr->context = pd->context;
    mr->pd = pd;
    mr->addr = addr;
    mr->length = len;
    mr->lkey = next_key_++;
    mr->rkey = next_key_++;
    mrs_[mr] = 1;
    hold(pd);
    ++live_;
    return mr;
}
int FakeVerbs::dereg_mr(ibv_mr* mr) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("ibv_dereg_mr");
    mrs_.erase(mr);
    drop(mr->pd);
    delete mr;
    --live_;
    return 0;
}

ibv_comp_channel* FakeVerbs::create_comp_channel(ibv_context* ctx, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_create_comp_channel", obj);
    auto* ch = new ibv_comp_channel{};
    ch->context = ctx;
    ch->fd = -1;
    ++live_;
    return ch;
}
int FakeVerbs::destroy_comp_channel(ibv_comp_channel* ch) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("ibv_destroy_comp_channel");
    if (busy(ch, "ibv_destroy_comp_channel")) return EBUSY;
    delete ch;
    --live_;
    return 0;
}

ibv_cq* FakeVerbs::create_cq(ibv_context* ctx, int cqe, ibv_comp_channel* ch, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_create_cq", obj);
    auto* cq = new ibv_cq{};
    cq->context = ctx;
    cq->channel = ch;
    cq->cqe = cqe;
    cqs_[cq];
    hold(ctx);
    if (ch != nullptr) hold(ch);
    ++live_;
    return cq;
}
int FakeVerbs::destroy_cq(ibv_cq* cq) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("ibv_destroy_cq");
    if (busy(cq, "ibv_destroy_cq")) return EBUSY;
    drop(cq->context);
    if (cq->channel != nullptr) drop(cq->channel);
    cqs_.erase(cq);
    delete cq;
    --live_;
    return 0;
}

ibv_qp* FakeVerbs::create_qp(ibv_pd* pd, ibv_qp_init_attr& attr, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_create_qp", obj);
    auto* qp = new ibv_qp{};
    qp->context = pd->context;
    qp->pd = pd;
    qp->send_cq = attr.send_cq;
    qp->recv_cq = attr.recv_cq;
    qp->qp_type = attr.qp_type;
    qp->qp_num = next_qpn_++;
    qp->state = IBV_QPS_RESET;
    qps_[qp->qp_num].qp = qp;
    hold(pd);
    hold(attr.send_cq);
    hold(attr.recv_cq);
    ++live_;
    return qp;
}
int FakeVerbs::destroy_qp(ibv_qp* qp) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("ibv_destroy_qp");
    if (busy(qp, "ibv_destroy_qp")) return EBUSY;
    drop(qp->pd);
    drop(qp->send_cq);
    drop(qp->recv_cq);
    qps_.erase(qp->qp_num);
    mcast_members_.erase(qp->qp_num);
    delete qp;
    --live_;
    return 0;
}

void FakeVerbs::modify_qp(ibv_qp* qp, ibv_qp_attr& attr, int mask, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_modify_qp", obj);
    if ((mask & IBV_QP_STATE) != 0) qp->state = attr.qp_state;
    if ((mask & IBV_QP_DEST_QPN) != 0) qps_.at(qp->qp_num).peer = attr.dest_qp_num;
}

ibv_ah* FakeVerbs::create_ah(ibv_pd* pd, ibv_ah_attr&, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_create_ah", obj);
    auto* ah = new ibv_ah{};
    ah->context = pd->context;
    ah->pd = pd;
    hold(pd);
    ++live_;
    return ah;
}
int FakeVerbs::destroy_ah(ibv_ah* ah) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("ibv_destroy_ah");
    drop(ah->pd);
    delete ah;
    --live_;
    return 0;
}

ibv_flow* FakeVerbs::create_flow(ibv_qp* qp, ibv_flow_attr* attr, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_create_flow", obj);
    if (attr->num_of_specs != 3) throw VerbsError("ibv_create_flow", obj, EINVAL);
    auto* f = new ibv_flow{};
    f->context = qp->context;
    flow_qp_[f] = qp;
    hold(qp);
    ++live_;
    return f;
}
int FakeVerbs::destroy_flow(ibv_flow* flow) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("ibv_destroy_flow");
    drop(flow_qp_[flow]);
    flow_qp_.erase(flow);
    delete flow;
    --live_;
    return 0;
}

void FakeVerbs::post_recv(ibv_qp* qp, ibv_recv_wr& wr, const char* what) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_post_recv", what);
    auto& s = qps_.at(qp->qp_num);
    ibv_recv_wr copy = wr;
    copy.next = nullptr;
    s.recvs.push_back(copy);
    s.recv_sges.push_back(*wr.sg_list);
}

void FakeVerbs::post_send(ibv_qp* qp, ibv_send_wr& wr, const char* what) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("ibv_post_send", what);
    if (qp->state != IBV_QPS_RTS) throw VerbsError("ibv_post_send", what, EINVAL);
    const ibv_sge& sge = *wr.sg_list;
    ibv_wc swc{};
    swc.wr_id = wr.wr_id;
    swc.qp_num = qp->qp_num;
    swc.status = IBV_WC_SUCCESS;
    swc.opcode = wr.opcode == IBV_WR_RDMA_WRITE ? IBV_WC_RDMA_WRITE : IBV_WC_SEND;
    swc.byte_len = sge.length;
    auto deliver_to = [&](QpState& dst, uint32_t offset, const uint8_t* src = nullptr) {
        if (dst.recvs.empty()) return false;
        ibv_recv_wr r = dst.recvs.front();
        ibv_sge rs = dst.recv_sges.front();
        dst.recvs.pop_front();
        dst.recv_sges.pop_front();
        std::memcpy(reinterpret_cast<uint8_t*>(rs.addr) + offset,
                    src != nullptr ? static_cast<const void*>(src) : reinterpret_cast<void*>(sge.addr), sge.length);
        if (corrupt && sge.length > 0) reinterpret_cast<uint8_t*>(rs.addr)[offset + sge.length - 1] ^= 0xffU;
        ibv_wc rwc{};
        rwc.wr_id = r.wr_id;
        rwc.qp_num = dst.qp->qp_num;
        rwc.status = IBV_WC_SUCCESS;
        rwc.opcode = IBV_WC_RECV;
        rwc.byte_len = sge.length + offset;
        push_wc(dst.qp->recv_cq, rwc);
        return true;
    };
    if (!deliver) return;  // the wire ate it: no completion ever
    if (qp->qp_type == IBV_QPT_UD) {
        if (wr.wr.ud.remote_qpn == kMcastQpn && mcast_loopback) {
            if (mcast_foreign > 0 && sge.length > 12) {
                --mcast_foreign;
                std::vector<uint8_t> other(sge.length);
                std::memcpy(other.data(), reinterpret_cast<const void*>(sge.addr), sge.length);
                other.at(4) ^= 0x5aU;  // another run's nonce, same seq and pattern
                for (uint32_t m : mcast_members_) deliver_to(qps_.at(m), 40, other.data());
            }
            for (uint32_t m : mcast_members_) deliver_to(qps_.at(m), 40);
        }
    } else if (wr.opcode == IBV_WR_SEND) {
        auto& peer = qps_.at(qps_.at(qp->qp_num).peer);
        if (!deliver_to(peer, 0)) swc.status = IBV_WC_RNR_RETRY_EXC_ERR;
    } else if (wr.opcode == IBV_WR_RDMA_WRITE) {
        bool ok = false;
        for (auto& [mr, unused] : mrs_) {
            const auto base = reinterpret_cast<uintptr_t>(mr->addr);
            if (mr->rkey == wr.wr.rdma.rkey && wr.wr.rdma.remote_addr >= base &&
                wr.wr.rdma.remote_addr + sge.length <= base + mr->length) {
                std::memcpy(reinterpret_cast<void*>(wr.wr.rdma.remote_addr), reinterpret_cast<void*>(sge.addr),
                            sge.length);
                ok = true;
            }
        }
        if (!ok) swc.status = IBV_WC_REM_ACCESS_ERR;
    }
    if ((wr.send_flags & IBV_SEND_SIGNALED) != 0 || swc.status != IBV_WC_SUCCESS) push_wc(qp->send_cq, swc);
}

int FakeVerbs::poll_cq(ibv_cq* cq, int n, ibv_wc* wc, const char* what) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    // Not logged (hot loop); failure injection still applies.
    const int c = ++calls_["ibv_poll_cq"];
    if (auto it = fail_.find("ibv_poll_cq"); it != fail_.end() && it->second.first == c)
        throw VerbsError("ibv_poll_cq", what, it->second.second);
    auto& q = cqs_.at(cq);
    int got = 0;
    while (got < n && !q.empty()) {
        wc[got++] = q.front();
        q.pop_front();
    }
    return got;
}

rdma_event_channel* FakeVerbs::create_event_channel(const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("rdma_create_event_channel", obj);
    auto* ch = new rdma_event_channel{};
    ch->fd = -1;
    events_[ch];
    ++live_;
    return ch;
}
int FakeVerbs::destroy_event_channel(rdma_event_channel* ch) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("rdma_destroy_event_channel");
    if (busy(ch, "rdma_destroy_event_channel")) return EBUSY;
    for (auto* ev : events_[ch]) delete ev;
    events_.erase(ch);
    delete ch;
    --live_;
    return 0;
}

rdma_cm_id* FakeVerbs::create_id(rdma_event_channel* ch, rdma_port_space ps, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("rdma_create_id", obj);
    auto* id = new rdma_cm_id{};
    id->channel = ch;
    id->ps = ps;
    hold(ch);
    ++live_;
    return id;
}
int FakeVerbs::destroy_id(rdma_cm_id* id) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("rdma_destroy_id");
    if (busy(id, "rdma_destroy_id")) return EBUSY;
    drop(id->channel);
    delete id;
    --live_;
    return 0;
}

void FakeVerbs::bind_addr(rdma_cm_id*, sockaddr*, const std::string& obj) { enter("rdma_bind_addr", obj); }

void FakeVerbs::resolve_addr(rdma_cm_id* id, sockaddr* src, sockaddr*, int, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("rdma_resolve_addr", obj);
    char text[INET6_ADDRSTRLEN] = {};
    sockaddr_in sin{};
    std::memcpy(&sin, src, sizeof sin);
    inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text);
    auto it = addr_device.find(text);
    if (it == addr_device.end()) throw VerbsError("rdma_resolve_addr", obj, EADDRNOTAVAIL);
    for (auto& d : devices_) {
        if (d.dev.name != it->second) continue;
        auto* ctx = new ibv_context{};
        ctx->device = d.ibdev.get();
        contexts_[ctx] = d.dev.name;
        cm_contexts_.push_back(ctx);
        id->verbs = ctx;
        id->port_num = 1;
    }
    auto* ev = new rdma_cm_event{};
    ev->id = id;
    ev->event = RDMA_CM_EVENT_ADDR_RESOLVED;
    events_.at(id->channel).push_back(ev);
}

rdma_cm_event* FakeVerbs::get_cm_event(rdma_event_channel* ch, int, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("rdma_get_cm_event", obj);
    auto& q = events_.at(ch);
    if (q.empty()) return nullptr;  // "timed out"
    auto* ev = q.front();
    q.pop_front();
    ++live_;  // until acked
    return ev;
}
int FakeVerbs::ack_cm_event(rdma_cm_event* ev) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("rdma_ack_cm_event");
    delete ev;
    --live_;
    return 0;
}

void FakeVerbs::create_id_qp(rdma_cm_id* id, ibv_pd* pd, ibv_qp_init_attr& attr, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("rdma_create_qp", obj);
    auto* qp = new ibv_qp{};
    qp->context = pd->context;
    qp->pd = pd;
    qp->send_cq = attr.send_cq;
    qp->recv_cq = attr.recv_cq;
    qp->qp_type = attr.qp_type;
    qp->qp_num = next_qpn_++;
    qp->state = IBV_QPS_RTS;  // rdma_cm moves UD QPs to RTS itself
    qps_[qp->qp_num].qp = qp;
    hold(pd);
    hold(attr.send_cq);
    hold(attr.recv_cq);
    id->qp = qp;
    hold(id);
    ++live_;
}
int FakeVerbs::destroy_id_qp(rdma_cm_id* id) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("rdma_destroy_qp");
    if (busy(id->qp, "rdma_destroy_qp")) return EBUSY;
    drop(id->qp->pd);
    drop(id->qp->send_cq);
    drop(id->qp->recv_cq);
    drop(id);
    qps_.erase(id->qp->qp_num);
    mcast_members_.erase(id->qp->qp_num);
    delete id->qp;
    id->qp = nullptr;
    --live_;
    return 0;
}

void FakeVerbs::join_multicast(rdma_cm_id* id, sockaddr*, void*, const std::string& obj) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    enter("rdma_join_multicast", obj);
    if (id->qp != nullptr) mcast_members_.insert(id->qp->qp_num);
    if (id->qp != nullptr) hold(id->qp);
    ++live_;  // membership
    if (!deliver_join_event) return;
    auto* ev = new rdma_cm_event{};
    ev->id = id;
    ev->event = RDMA_CM_EVENT_MULTICAST_JOIN;
    ev->param.ud.qp_num = kMcastQpn;
    ev->param.ud.qkey = kQkey;
    events_.at(id->channel).push_back(ev);
}
int FakeVerbs::leave_multicast(rdma_cm_id* id, sockaddr*) noexcept {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("rdma_leave_multicast");
    if (id->qp != nullptr) mcast_members_.erase(id->qp->qp_num);
    if (id->qp != nullptr) drop(id->qp);
    --live_;
    return 0;
}

std::optional<std::string> FakeVerbs::netdev_ipv4(const std::string& ifname) {
    const std::lock_guard<std::recursive_mutex> lock(mu_);
    log.emplace_back("getifaddrs");
    auto it = ipv4.find(ifname);
    if (it == ipv4.end()) return std::nullopt;
    return it->second;
}

// --- MapFs ------------------------------------------------------------------------------------

std::optional<std::string> MapFs::read(const std::string& path) const {
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> MapFs::list(const std::string& dir) const {
    std::set<std::string> names;
    const std::string prefix = dir + "/";
    auto add = [&](const std::string& p) {
        if (p.rfind(prefix, 0) != 0) return;
        std::string rest = p.substr(prefix.size());
        names.insert(rest.substr(0, rest.find('/')));
    };
    for (const auto& [p, c] : files) add(p);
    for (const auto& [p, t] : links) add(p);
    for (const auto& d : dirs) add(d);
    return {names.begin(), names.end()};
}

std::optional<std::string> MapFs::readlink(const std::string& path) const {
    auto it = links.find(path);
    if (it == links.end()) return std::nullopt;
    return it->second;
}

bool MapFs::exists(const std::string& path) const {
    if (files.count(path) != 0 || links.count(path) != 0 || dirs.count(path) != 0) return true;
    return !list(path).empty();
}

MapFs rxe_node_fs() {
    MapFs fs;
    fs.files["/sys/class/infiniband/rxe0/ports/1/state"] = "4: ACTIVE\n";
    fs.files["/sys/class/infiniband/rxe0/ports/1/gid_attrs/ndevs/0"] = "eth1\n";
    fs.files["/sys/class/infiniband/rxe0/ports/1/gid_attrs/ndevs/1"] = "eth1\n";
    fs.files["/sys/class/infiniband_verbs/uverbs0/ibdev"] = "rxe0\n";
    fs.files["/sys/class/infiniband_verbs/abi_version"] = "6\n";
    fs.files["/dev/infiniband/uverbs0"] = "";
    return fs;
}

}  // namespace rdma_agent::test
