// RealVerbsApi: the only file that calls libibverbs and librdmacm. Each call's NULL / errno /
// negative return becomes a VerbsError naming the call, the object and the errno text.
#include "verbs_api_real.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace rdma_agent {

namespace {

std::string errno_text(int err) {
    return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
}

// ibv_* calls that return an int report the error as the return value (rdma-core man pages:
// "returns 0 on success, or the value of errno on failure"); some older providers return -1 and
// set errno instead. Accept both.
int ret_errno(int ret) { return ret > 0 ? ret : (errno != 0 ? errno : EIO); }

}  // namespace

VerbsError::VerbsError(std::string call, std::string object, int err)
    : std::runtime_error(call + "(" + object + "): " + errno_text(err)),
      call_(std::move(call)), object_(std::move(object)), err_(err) {}

VerbsError::VerbsError(std::string call, std::string object, std::string text)
    : std::runtime_error(call + "(" + object + "): " + text),
      call_(std::move(call)), object_(std::move(object)) {}

RealVerbsApi::~RealVerbsApi() {
    if (list_ != nullptr) ibv_free_device_list(list_);
}

ibv_device** RealVerbsApi::devices() {
    if (list_ == nullptr) {
        errno = 0;
        list_ = ibv_get_device_list(&count_);
        if (list_ == nullptr) throw VerbsError("ibv_get_device_list", "libibverbs", errno != 0 ? errno : EIO);
    }
    return list_;
}

std::vector<std::string> RealVerbsApi::device_names() {
    ibv_device** list = devices();
    std::vector<std::string> names;
    for (int i = 0; i < count_; ++i) names.emplace_back(ibv_get_device_name(list[i]));
    return names;
}

ibv_context* RealVerbsApi::open_device(const std::string& name) {
    ibv_device** list = devices();
    for (int i = 0; i < count_; ++i) {
        if (name == ibv_get_device_name(list[i])) {
            errno = 0;
            ibv_context* ctx = ibv_open_device(list[i]);
            if (ctx == nullptr) throw VerbsError("ibv_open_device", name, errno != 0 ? errno : EIO);
            return ctx;
        }
    }
    throw VerbsError("ibv_open_device", name, ENODEV);
}

int RealVerbsApi::close_device(ibv_context* ctx) noexcept { return ibv_close_device(ctx); }

ibv_device_attr_ex RealVerbsApi::query_device_ex(ibv_context* ctx, const std::string& obj) {
    ibv_device_attr_ex attr{};
    errno = 0;
    if (int r = ibv_query_device_ex(ctx, nullptr, &attr); r != 0)
        throw VerbsError("ibv_query_device_ex", obj, ret_errno(r));
    return attr;
}

ibv_port_attr RealVerbsApi::query_port(ibv_context* ctx, uint8_t port, const std::string& obj) {
    ibv_port_attr attr{};
    errno = 0;
    if (int r = ibv_query_port(ctx, port, &attr); r != 0) throw VerbsError("ibv_query_port", obj, ret_errno(r));
    return attr;
}

std::vector<ibv_gid_entry> RealVerbsApi::query_gid_table(ibv_context* ctx, const std::string& obj) {
    ibv_device_attr attr{};
    if (int r = ibv_query_device(ctx, &attr); r != 0) throw VerbsError("ibv_query_device", obj, ret_errno(r));
    size_t max = 0;
    for (uint8_t p = 1; p <= attr.phys_port_cnt; ++p) {
        ibv_port_attr pa{};
        if (int r = ibv_query_port(ctx, p, &pa); r != 0) throw VerbsError("ibv_query_port", obj, ret_errno(r));
        max += static_cast<size_t>(pa.gid_tbl_len);
    }
    std::vector<ibv_gid_entry> entries(max == 0 ? 1 : max);
    errno = 0;
    ssize_t n = ibv_query_gid_table(ctx, entries.data(), entries.size(), 0);
    if (n < 0) throw VerbsError("ibv_query_gid_table", obj, static_cast<int>(-n));
    entries.resize(static_cast<size_t>(n));
    return entries;
}

ibv_pd* RealVerbsApi::alloc_pd(ibv_context* ctx, const std::string& obj) {
    errno = 0;
    ibv_pd* pd = ibv_alloc_pd(ctx);
    if (pd == nullptr) throw VerbsError("ibv_alloc_pd", obj, errno != 0 ? errno : EIO);
    return pd;
}
int RealVerbsApi::dealloc_pd(ibv_pd* pd) noexcept { return ibv_dealloc_pd(pd); }

ibv_mr* RealVerbsApi::reg_mr(ibv_pd* pd, void* addr, size_t len, int access, const std::string& obj) {
    errno = 0;
    ibv_mr* mr = ibv_reg_mr(pd, addr, len, access);
    if (mr == nullptr) throw VerbsError("ibv_reg_mr", obj, errno != 0 ? errno : EIO);
    return mr;
}
int RealVerbsApi::dereg_mr(ibv_mr* mr) noexcept { return ibv_dereg_mr(mr); }

ibv_comp_channel* RealVerbsApi::create_comp_channel(ibv_context* ctx, const std::string& obj) {
    errno = 0;
    ibv_comp_channel* ch = ibv_create_comp_channel(ctx);
    if (ch == nullptr) throw VerbsError("ibv_create_comp_channel", obj, errno != 0 ? errno : EIO);
    return ch;
}
int RealVerbsApi::destroy_comp_channel(ibv_comp_channel* ch) noexcept { return ibv_destroy_comp_channel(ch); }

ibv_cq* RealVerbsApi::create_cq(ibv_context* ctx, int cqe, ibv_comp_channel* ch, const std::string& obj) {
    errno = 0;
    ibv_cq* cq = ibv_create_cq(ctx, cqe, nullptr, ch, 0);
    if (cq == nullptr) throw VerbsError("ibv_create_cq", obj, errno != 0 ? errno : EIO);
    return cq;
}
int RealVerbsApi::destroy_cq(ibv_cq* cq) noexcept { return ibv_destroy_cq(cq); }

ibv_qp* RealVerbsApi::create_qp(ibv_pd* pd, ibv_qp_init_attr& attr, const std::string& obj) {
    errno = 0;
    ibv_qp* qp = ibv_create_qp(pd, &attr);
    if (qp == nullptr) throw VerbsError("ibv_create_qp", obj, errno != 0 ? errno : EIO);
    return qp;
}
int RealVerbsApi::destroy_qp(ibv_qp* qp) noexcept { return ibv_destroy_qp(qp); }

void RealVerbsApi::modify_qp(ibv_qp* qp, ibv_qp_attr& attr, int mask, const std::string& obj) {
    errno = 0;
    if (int r = ibv_modify_qp(qp, &attr, mask); r != 0) throw VerbsError("ibv_modify_qp", obj, ret_errno(r));
}

ibv_ah* RealVerbsApi::create_ah(ibv_pd* pd, ibv_ah_attr& attr, const std::string& obj) {
    errno = 0;
    ibv_ah* ah = ibv_create_ah(pd, &attr);
    if (ah == nullptr) throw VerbsError("ibv_create_ah", obj, errno != 0 ? errno : EIO);
    return ah;
}
int RealVerbsApi::destroy_ah(ibv_ah* ah) noexcept { return ibv_destroy_ah(ah); }

ibv_flow* RealVerbsApi::create_flow(ibv_qp* qp, ibv_flow_attr* attr, const std::string& obj) {
    errno = 0;
    ibv_flow* flow = ibv_create_flow(qp, attr);
    if (flow == nullptr) throw VerbsError("ibv_create_flow", obj, errno != 0 ? errno : EOPNOTSUPP);
    return flow;
}
int RealVerbsApi::destroy_flow(ibv_flow* flow) noexcept { return ibv_destroy_flow(flow); }

void RealVerbsApi::post_send(ibv_qp* qp, ibv_send_wr& wr, const char* what) {
    ibv_send_wr* bad = nullptr;
    if (int r = ibv_post_send(qp, &wr, &bad); r != 0) throw VerbsError("ibv_post_send", what, ret_errno(r));
}

void RealVerbsApi::post_recv(ibv_qp* qp, ibv_recv_wr& wr, const char* what) {
    ibv_recv_wr* bad = nullptr;
    if (int r = ibv_post_recv(qp, &wr, &bad); r != 0) throw VerbsError("ibv_post_recv", what, ret_errno(r));
}

int RealVerbsApi::poll_cq(ibv_cq* cq, int n, ibv_wc* wc, const char* what) {
    int r = ibv_poll_cq(cq, n, wc);
    if (r < 0) throw VerbsError("ibv_poll_cq", what, errno != 0 ? errno : EIO);
    return r;
}

rdma_event_channel* RealVerbsApi::create_event_channel(const std::string& obj) {
    errno = 0;
    rdma_event_channel* ch = rdma_create_event_channel();
    if (ch == nullptr) throw VerbsError("rdma_create_event_channel", obj, errno != 0 ? errno : EIO);
    return ch;
}
int RealVerbsApi::destroy_event_channel(rdma_event_channel* ch) noexcept {
    rdma_destroy_event_channel(ch);
    return 0;
}

rdma_cm_id* RealVerbsApi::create_id(rdma_event_channel* ch, rdma_port_space ps, const std::string& obj) {
    rdma_cm_id* id = nullptr;
    errno = 0;
    if (rdma_create_id(ch, &id, nullptr, ps) != 0) throw VerbsError("rdma_create_id", obj, errno != 0 ? errno : EIO);
    return id;
}
int RealVerbsApi::destroy_id(rdma_cm_id* id) noexcept { return rdma_destroy_id(id) == 0 ? 0 : errno; }

void RealVerbsApi::bind_addr(rdma_cm_id* id, sockaddr* addr, const std::string& obj) {
    errno = 0;
    if (rdma_bind_addr(id, addr) != 0) throw VerbsError("rdma_bind_addr", obj, errno != 0 ? errno : EIO);
}

void RealVerbsApi::resolve_addr(rdma_cm_id* id, sockaddr* src, sockaddr* dst, int timeout_ms,
                                const std::string& obj) {
    errno = 0;
    if (rdma_resolve_addr(id, src, dst, timeout_ms) != 0)
        throw VerbsError("rdma_resolve_addr", obj, errno != 0 ? errno : EIO);
}

rdma_cm_event* RealVerbsApi::get_cm_event(rdma_event_channel* ch, int timeout_ms, const std::string& obj) {
    pollfd pfd{ch->fd, POLLIN, 0};
    int r = 0;
    do {
        r = ::poll(&pfd, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0) throw VerbsError("poll", obj + " rdma_cm event channel", errno);
    if (r == 0) return nullptr;
    rdma_cm_event* ev = nullptr;
    errno = 0;
    if (rdma_get_cm_event(ch, &ev) != 0) throw VerbsError("rdma_get_cm_event", obj, errno != 0 ? errno : EIO);
    return ev;
}
int RealVerbsApi::ack_cm_event(rdma_cm_event* ev) noexcept { return rdma_ack_cm_event(ev) == 0 ? 0 : errno; }

void RealVerbsApi::create_id_qp(rdma_cm_id* id, ibv_pd* pd, ibv_qp_init_attr& attr, const std::string& obj) {
    errno = 0;
    if (rdma_create_qp(id, pd, &attr) != 0) throw VerbsError("rdma_create_qp", obj, errno != 0 ? errno : EIO);
}
int RealVerbsApi::destroy_id_qp(rdma_cm_id* id) noexcept {
    rdma_destroy_qp(id);
    return 0;
}

void RealVerbsApi::join_multicast(rdma_cm_id* id, sockaddr* addr, void* user, const std::string& obj) {
    errno = 0;
    if (rdma_join_multicast(id, addr, user) != 0)
        throw VerbsError("rdma_join_multicast", obj, errno != 0 ? errno : EIO);
}
int RealVerbsApi::leave_multicast(rdma_cm_id* id, sockaddr* addr) noexcept {
    return rdma_leave_multicast(id, addr) == 0 ? 0 : errno;
}

std::optional<std::string> RealVerbsApi::netdev_ipv4(const std::string& ifname) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) throw VerbsError("getifaddrs", ifname, errno);
    std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> guard(list, freeifaddrs);
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET || ifname != a->ifa_name) continue;
        char text[INET_ADDRSTRLEN] = {};
        sockaddr_in sin{};
        std::memcpy(&sin, a->ifa_addr, sizeof sin);
        if (inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text) != nullptr) return std::string(text);
    }
    return std::nullopt;
}

}  // namespace rdma_agent
