// A fake VerbsApi for unit tests: devices and ports described by the test, real C structs handed
// out (so the checks' field accesses work), an in-memory data path (RC SEND/RECV, RDMA WRITE,
// UD multicast loopback), a call log, a live-object count, and failure injection by call name.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "rdma_agent/filesystem.hpp"
#include "verbs_api.hpp"

namespace rdma_agent::test {

struct FakePort {
    ibv_port_state state = IBV_PORT_ACTIVE;
    uint8_t link_layer = IBV_LINK_LAYER_ETHERNET;
    uint16_t lid = 0;
    ibv_mtu mtu = IBV_MTU_1024;
    std::vector<ibv_gid_entry> gids;  // port_num / gid_index filled in by add_device
};

struct FakeDevice {
    std::string name;
    std::vector<FakePort> ports;
    uint64_t cap_flags_ex = 0;
};

// An rxe-like device: one ACTIVE Ethernet port with a link-local RoCE v1/v2 pair (0, 1) and an
// IPv4-mapped RoCE v1/v2 pair (2, 3) for 10.77.0.11.
FakeDevice rxe_device(const std::string& name = "rxe0");

class FakeVerbs final : public VerbsApi {
public:
    FakeVerbs();
    ~FakeVerbs() override;

    // --- set-up -------------------------------------------------------------------------------
    void add_device(FakeDevice d);
    // The n-th (1-based) call of `call` (the C function name, e.g. "ibv_create_qp") fails with err.
    void fail(const std::string& call, int err, int nth = 1);
    bool deliver = true;           // false: sends never complete (timeouts)
    bool corrupt = false;          // flip one byte of every SEND payload delivered
    bool mcast_loopback = true;    // UD multicast sends reach the attached local QPs
    int mcast_foreign = 0;         // before each of the next N multicast sends, another sender's
                                   // datagram (same seq and pattern, another nonce) reaches the members
    bool deliver_join_event = true;
    std::map<std::string, std::string> ipv4;        // netdev -> address
    std::map<std::string, std::string> addr_device; // bind address -> device name (rdma_cm)

    // --- inspection ---------------------------------------------------------------------------
    std::vector<std::string> log;  // every call, in order
    int live() const { return live_; }
    size_t count(const std::string& call) const;
    // Index in `log` of the first/last occurrence of call (-1 if absent).
    long first(const std::string& call) const;
    long last(const std::string& call) const;

    // --- VerbsApi -----------------------------------------------------------------------------
    std::vector<std::string> device_names() override;
    ibv_context* open_device(const std::string& name) override;
    int close_device(ibv_context* ctx) noexcept override;
    ibv_device_attr_ex query_device_ex(ibv_context* ctx, const std::string& obj) override;
    ibv_port_attr query_port(ibv_context* ctx, uint8_t port, const std::string& obj) override;
    std::vector<ibv_gid_entry> query_gid_table(ibv_context* ctx, const std::string& obj) override;
    ibv_pd* alloc_pd(ibv_context* ctx, const std::string& obj) override;
    int dealloc_pd(ibv_pd* pd) noexcept override;
    ibv_mr* reg_mr(ibv_pd* pd, void* addr, size_t len, int access, const std::string& obj) override;
    int dereg_mr(ibv_mr* mr) noexcept override;
    ibv_comp_channel* create_comp_channel(ibv_context* ctx, const std::string& obj) override;
    int destroy_comp_channel(ibv_comp_channel* ch) noexcept override;
    ibv_cq* create_cq(ibv_context* ctx, int cqe, ibv_comp_channel* ch, const std::string& obj) override;
    int destroy_cq(ibv_cq* cq) noexcept override;
    ibv_qp* create_qp(ibv_pd* pd, ibv_qp_init_attr& attr, const std::string& obj) override;
    int destroy_qp(ibv_qp* qp) noexcept override;
    void modify_qp(ibv_qp* qp, ibv_qp_attr& attr, int mask, const std::string& obj) override;
    ibv_ah* create_ah(ibv_pd* pd, ibv_ah_attr& attr, const std::string& obj) override;
    int destroy_ah(ibv_ah* ah) noexcept override;
    ibv_flow* create_flow(ibv_qp* qp, ibv_flow_attr* attr, const std::string& obj) override;
    int destroy_flow(ibv_flow* flow) noexcept override;
    void post_send(ibv_qp* qp, ibv_send_wr& wr, const char* what) override;
    void post_recv(ibv_qp* qp, ibv_recv_wr& wr, const char* what) override;
    int poll_cq(ibv_cq* cq, int n, ibv_wc* wc, const char* what) override;
    rdma_event_channel* create_event_channel(const std::string& obj) override;
    int destroy_event_channel(rdma_event_channel* ch) noexcept override;
    rdma_cm_id* create_id(rdma_event_channel* ch, rdma_port_space ps, const std::string& obj) override;
    int destroy_id(rdma_cm_id* id) noexcept override;
    void bind_addr(rdma_cm_id* id, sockaddr* addr, const std::string& obj) override;
    void resolve_addr(rdma_cm_id* id, sockaddr* src, sockaddr* dst, int timeout_ms, const std::string& obj) override;
    rdma_cm_event* get_cm_event(rdma_event_channel* ch, int timeout_ms, const std::string& obj) override;
    int ack_cm_event(rdma_cm_event* ev) noexcept override;
    void create_id_qp(rdma_cm_id* id, ibv_pd* pd, ibv_qp_init_attr& attr, const std::string& obj) override;
    int destroy_id_qp(rdma_cm_id* id) noexcept override;
    void join_multicast(rdma_cm_id* id, sockaddr* addr, void* user, const std::string& obj) override;
    int leave_multicast(rdma_cm_id* id, sockaddr* addr) noexcept override;
    std::optional<std::string> netdev_ipv4(const std::string& ifname) override;

private:
    struct QpState {
        ibv_qp* qp = nullptr;
        uint32_t peer = 0;
        std::deque<ibv_recv_wr> recvs;
        std::deque<ibv_sge> recv_sges;
    };
    struct DevState {
        FakeDevice dev;
        std::unique_ptr<ibv_device> ibdev;
    };
    void enter(const std::string& call, const std::string& obj);  // logs, throws when injected
    void push_wc(ibv_cq* cq, const ibv_wc& wc);
    DevState& dev_of(ibv_context* ctx);
    // Parent/child references, like the kernel's usecnt: destroying a parent that still has
    // children fails with EBUSY (and leaks it, which the live count then shows).
    void hold(const void* parent) { ++refs_[parent]; }
    void drop(const void* parent) { --refs_[parent]; }
    bool busy(const void* obj, const char* call) {
        auto it = refs_.find(obj);
        if (it == refs_.end() || it->second == 0) return false;
        log.push_back(std::string("EBUSY ") + call);
        return true;
    }
    std::map<const void*, int> refs_;
    std::recursive_mutex mu_;  // measure_latency's responder thread calls in concurrently
    std::map<ibv_flow*, ibv_qp*> flow_qp_;

    std::map<std::string, std::pair<int, int>> fail_;  // call -> (nth, errno)
    std::map<std::string, int> calls_;
    std::vector<DevState> devices_;
    std::map<ibv_context*, std::string> contexts_;
    std::map<ibv_cq*, std::deque<ibv_wc>> cqs_;
    std::map<uint32_t, QpState> qps_;
    std::map<ibv_mr*, int> mrs_;
    std::set<uint32_t> mcast_members_;  // qp numbers attached to the (single) group
    std::map<rdma_event_channel*, std::deque<rdma_cm_event*>> events_;
    std::vector<ibv_context*> cm_contexts_;  // contexts rdma_cm opened (freed with the fake)
    uint32_t next_qpn_ = 0x11;
    uint32_t next_key_ = 0x100;
    int live_ = 0;
};

// A FileSystem over a map: files, directories (implicit from file paths), symlinks. Anything
// not set up is absent.
class MapFs final : public FileSystem {
public:
    std::map<std::string, std::string> files;
    std::map<std::string, std::string> links;
    std::set<std::string> dirs;  // extra (empty) directories
    std::optional<std::string> read(const std::string& path) const override;
    std::vector<std::string> list(const std::string& dir) const override;
    std::optional<std::string> readlink(const std::string& path) const override;
    bool exists(const std::string& path) const override;
};

// sysfs + /dev of a node with a working rxe0 on netdev eth1 (uverbs0).
MapFs rxe_node_fs();

}  // namespace rdma_agent::test
