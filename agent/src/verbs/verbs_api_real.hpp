// RealVerbsApi: VerbsApi over the real libibverbs and librdmacm (verbs_api_real.cpp).
#pragma once

#include "verbs_api.hpp"

namespace rdma_agent {

class RealVerbsApi final : public VerbsApi {
public:
    RealVerbsApi() = default;
    RealVerbsApi(const RealVerbsApi&) = delete;
    RealVerbsApi& operator=(const RealVerbsApi&) = delete;
    ~RealVerbsApi() override;
    void resolve_addr(rdma_cm_id* id, sockaddr* src, sockaddr* dst, int timeout_ms,
                      const std::string& obj) override;
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
    rdma_cm_event* get_cm_event(rdma_event_channel* ch, int timeout_ms, const std::string& obj) override;
    int ack_cm_event(rdma_cm_event* ev) noexcept override;
    void create_id_qp(rdma_cm_id* id, ibv_pd* pd, ibv_qp_init_attr& attr, const std::string& obj) override;
    int destroy_id_qp(rdma_cm_id* id) noexcept override;
    void join_multicast(rdma_cm_id* id, sockaddr* addr, void* user, const std::string& obj) override;
    int leave_multicast(rdma_cm_id* id, sockaddr* addr) noexcept override;
    std::optional<std::string> netdev_ipv4(const std::string& ifname) override;

private:
    // ibv_get_device_list scans sysfs and loads providers: done once per process (the agent is
    // short-lived), kept until destruction; open contexts hold their own references.
    ibv_device** devices();
    ibv_device** list_ = nullptr;
    int count_ = 0;
};

}  // namespace rdma_agent
