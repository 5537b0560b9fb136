// The one boundary between the agent and libibverbs/librdmacm.
//
// VerbsApi is abstract: RealVerbsApi (verbs_api_real.cpp) calls the C libraries, the unit tests
// drive the checks through a fake (agent/tests/verbs/fake_verbs.*). Every creating call either
// returns a valid object or throws VerbsError naming the call, the object it acted on and the
// errno text ("ibv_create_qp(rxe0/1 RC): Cannot allocate memory (errno 12)"); NULL never leaks
// out. Destroying calls are noexcept and return the errno (0 on success): they run from the RAII
// owners below, in reverse order of creation, so a failing check leaks nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

namespace rdma_agent {

class VerbsError : public std::runtime_error {
public:
    // "call(object): strerror(err) (errno err)"
    VerbsError(std::string call, std::string object, int err);
    // "call(object): text" for failures that carry no errno (timeouts, bad completions...)
    VerbsError(std::string call, std::string object, std::string text);
    const std::string& call() const noexcept { return call_; }
    const std::string& object() const noexcept { return object_; }
    int error() const noexcept { return err_; }  // 0 when no errno applies

private:
    std::string call_;
    std::string object_;
    int err_ = 0;
};

class VerbsApi {
public:
    virtual ~VerbsApi() = default;

    // --- libibverbs: devices --------------------------------------------------------------
    // Names from ibv_get_device_list (empty vector: no device; throws if the call fails).
    virtual std::vector<std::string> device_names() = 0;
    virtual ibv_context* open_device(const std::string& name) = 0;
    virtual int close_device(ibv_context* ctx) noexcept = 0;
    virtual ibv_device_attr_ex query_device_ex(ibv_context* ctx, const std::string& obj) = 0;
    virtual ibv_port_attr query_port(ibv_context* ctx, uint8_t port, const std::string& obj) = 0;
    // Valid GID entries of the whole device (ibv_query_gid_table).
    virtual std::vector<ibv_gid_entry> query_gid_table(ibv_context* ctx, const std::string& obj) = 0;

    // --- libibverbs: resources --------------------------------------------------------------
    virtual ibv_pd* alloc_pd(ibv_context* ctx, const std::string& obj) = 0;
    virtual int dealloc_pd(ibv_pd* pd) noexcept = 0;
    virtual ibv_mr* reg_mr(ibv_pd* pd, void* addr, size_t len, int access, const std::string& obj) = 0;
    virtual int dereg_mr(ibv_mr* mr) noexcept = 0;
    virtual ibv_comp_channel* create_comp_channel(ibv_context* ctx, const std::string& obj) = 0;
    virtual int destroy_comp_channel(ibv_comp_channel* ch) noexcept = 0;
    virtual ibv_cq* create_cq(ibv_context* ctx, int cqe, ibv_comp_channel* ch, const std::string& obj) = 0;
    virtual int destroy_cq(ibv_cq* cq) noexcept = 0;
    virtual ibv_qp* create_qp(ibv_pd* pd, ibv_qp_init_attr& attr, const std::string& obj) = 0;
    virtual int destroy_qp(ibv_qp* qp) noexcept = 0;
    virtual void modify_qp(ibv_qp* qp, ibv_qp_attr& attr, int mask, const std::string& obj) = 0;
    virtual ibv_ah* create_ah(ibv_pd* pd, ibv_ah_attr& attr, const std::string& obj) = 0;
    virtual int destroy_ah(ibv_ah* ah) noexcept = 0;
    virtual ibv_flow* create_flow(ibv_qp* qp, ibv_flow_attr* attr, const std::string& obj) = 0;
    virtual int destroy_flow(ibv_flow* flow) noexcept = 0;

    // --- libibverbs: data path (hot: no std::string built on success) -------------------------
    // Throw VerbsError naming `what` (a const char* so the fast path allocates nothing).
    virtual void post_send(ibv_qp* qp, ibv_send_wr& wr, const char* what) = 0;
    virtual void post_recv(ibv_qp* qp, ibv_recv_wr& wr, const char* what) = 0;
    // Number of completions (>= 0); throws on a negative return.
    virtual int poll_cq(ibv_cq* cq, int n, ibv_wc* wc, const char* what) = 0;

    // --- librdmacm ----------------------------------------------------------------------------
    virtual rdma_event_channel* create_event_channel(const std::string& obj) = 0;
    virtual int destroy_event_channel(rdma_event_channel* ch) noexcept = 0;
    virtual rdma_cm_id* create_id(rdma_event_channel* ch, rdma_port_space ps, const std::string& obj) = 0;
    virtual int destroy_id(rdma_cm_id* id) noexcept = 0;
    virtual void bind_addr(rdma_cm_id* id, sockaddr* addr, const std::string& obj) = 0;
    virtual void resolve_addr(rdma_cm_id* id, sockaddr* src, sockaddr* dst, int timeout_ms,
                              const std::string& obj) = 0;
    // Next event, or nullptr when none arrived within timeout_ms (poll() on the channel fd).
    virtual rdma_cm_event* get_cm_event(rdma_event_channel* ch, int timeout_ms, const std::string& obj) = 0;
    virtual int ack_cm_event(rdma_cm_event* ev) noexcept = 0;
    // rdma_create_qp: the QP ends up in id->qp (attached to multicast groups by rdma_cm).
    virtual void create_id_qp(rdma_cm_id* id, ibv_pd* pd, ibv_qp_init_attr& attr, const std::string& obj) = 0;
    virtual int destroy_id_qp(rdma_cm_id* id) noexcept = 0;
    virtual void join_multicast(rdma_cm_id* id, sockaddr* addr, void* user, const std::string& obj) = 0;
    virtual int leave_multicast(rdma_cm_id* id, sockaddr* addr) noexcept = 0;

    // --- host networking (not verbs, but the multicast check needs it and tests fake it) --------
    // First IPv4 address of a network interface (getifaddrs), nullopt when it has none.
    virtual std::optional<std::string> netdev_ipv4(const std::string& ifname) = 0;
};

// RAII owner of one verbs object: destroyed through the same VerbsApi that created it.
template <typename T, int (VerbsApi::*Destroy)(T*) noexcept>
class Owned {
public:
    Owned() = default;
    Owned(VerbsApi& api, T* p) : api_(&api), p_(p) {}
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;
    Owned(Owned&& o) noexcept : api_(o.api_), p_(std::exchange(o.p_, nullptr)) {}
    Owned& operator=(Owned&& o) noexcept {
        if (this != &o) {
            reset();
            api_ = o.api_;
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    ~Owned() { reset(); }
    void reset() noexcept {
        if (p_ != nullptr) (api_->*Destroy)(std::exchange(p_, nullptr));
    }
    T* get() const noexcept { return p_; }
    // Gives up ownership (for a destroy whose result must be reported).
    T* release() noexcept { return std::exchange(p_, nullptr); }
    T* operator->() const noexcept { return p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    VerbsApi* api_ = nullptr;
    T* p_ = nullptr;
};

using DeviceContext = Owned<ibv_context, &VerbsApi::close_device>;
using Pd = Owned<ibv_pd, &VerbsApi::dealloc_pd>;
using Mr = Owned<ibv_mr, &VerbsApi::dereg_mr>;
using CompChannel = Owned<ibv_comp_channel, &VerbsApi::destroy_comp_channel>;
using Cq = Owned<ibv_cq, &VerbsApi::destroy_cq>;
using Qp = Owned<ibv_qp, &VerbsApi::destroy_qp>;
using Ah = Owned<ibv_ah, &VerbsApi::destroy_ah>;
using Flow = Owned<ibv_flow, &VerbsApi::destroy_flow>;
using EventChannel = Owned<rdma_event_channel, &VerbsApi::destroy_event_channel>;
using CmId = Owned<rdma_cm_id, &VerbsApi::destroy_id>;
using CmEvent = Owned<rdma_cm_event, &VerbsApi::ack_cm_event>;
// The QP rdma_create_qp put on a cm id (rdma_destroy_qp), owned separately from the id.
using CmIdQp = Owned<rdma_cm_id, &VerbsApi::destroy_id_qp>;

// A joined multicast group: left on destruction.
class McastMembership {
public:
    McastMembership() = default;
    McastMembership(VerbsApi& api, rdma_cm_id* id, const sockaddr_storage& addr)
        : api_(&api), id_(id), addr_(addr) {}
    McastMembership(const McastMembership&) = delete;
    McastMembership& operator=(const McastMembership&) = delete;
    ~McastMembership() { leave(); }
    // Takes ownership of a joined group (leaving a previous one first).
    void set(VerbsApi& api, rdma_cm_id* id, const sockaddr_storage& addr) noexcept {
        leave();
        api_ = &api;
        id_ = id;
        addr_ = addr;
    }
    int leave() noexcept {
        if (id_ == nullptr) return 0;
        return api_->leave_multicast(std::exchange(id_, nullptr), reinterpret_cast<sockaddr*>(&addr_));
    }

private:
    VerbsApi* api_ = nullptr;
    rdma_cm_id* id_ = nullptr;
    sockaddr_storage addr_{};
};

}  // namespace rdma_agent
