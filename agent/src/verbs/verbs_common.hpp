// Shared pieces of the verbs checks: which device ports to test, which GID to use on RoCE, the
// "missing layer" diagnosis, an RC loopback (two RC QPs of one process connected to each other),
// CQ waits with deadlines, and perftest's latency statistics.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rdma_agent/check.hpp"
#include "verbs_api.hpp"

namespace rdma_agent::verbs {

// One device port to exercise.
struct PortTarget {
    std::string device;
    uint8_t port = 1;
    std::string entity() const { return device + "/" + std::to_string(port); }
};

// The ports a check works on: config devices.expected (named ports, else every port), or every
// device libibverbs lists with its ACTIVE ports. Problems (expected device absent, expected port
// not ACTIVE, a device without any ACTIVE port) come back as failed entities; `fatal` is set when
// there is nothing to test at all, naming the missing layer.
struct Selection {
    std::vector<PortTarget> targets;
    std::vector<Entity> problems;
    std::optional<std::string> fatal;
};
Selection select_ports(VerbsApi& api, const Context& ctx);

// Why libibverbs does not list `device` (empty: why it lists no device at all), read from the
// node's sysfs/dev through ctx.fs: no kernel driver, no uverbs device (ib_uverbs), no device node
// under /dev/infiniband, or no user-space provider (/etc/libibverbs.d).
std::string diagnose_missing(const FileSystem& fs, const std::string& device);

std::string port_state_name(int state);
std::string gid_to_string(const ibv_gid& gid);
std::string gid_type_name(uint32_t type);
std::string wc_status_name(int status);
std::string mtu_name(int mtu);

// The port's attributes and the GID a loopback uses (RoCE: the RoCE v2 IPv4-mapped GID when
// present, else RoCE v2, else any; InfiniBand: LIDs, gid_index -1).
struct PortInfo {
    ibv_port_attr attr{};
    bool ethernet = false;
    int gid_index = -1;
    ibv_gid gid{};
    uint32_t gid_type = 0;
    uint32_t ndev_ifindex = 0;
};
PortInfo query_port_info(VerbsApi& api, ibv_context* ctx, const PortTarget& t, std::optional<int> gid_index);

// Busy-polls `cq` until one completion arrives or `deadline` passes. Throws VerbsError naming
// `what` on timeout or on a completion with an error status.
ibv_wc wait_completion(VerbsApi& api, ibv_cq* cq, std::chrono::steady_clock::time_point deadline,
                       const char* what, int timeout_ms);

// What every RC test holds on one device: a buffer of `regions` x `region` bytes under one MR, the
// port (checked ACTIVE), the device context and a PD. Members are destroyed in reverse order (MR,
// PD, device, then the buffer); a struct deriving from it declares its QPs, which go first.
struct RcDevice {
    std::vector<uint8_t> buffer;
    size_t region = 0;
    PortTarget target;
    PortInfo port;
    DeviceContext ctx;
    Pd pd;
    Mr mr;

    uint8_t* at(size_t i) { return buffer.data() + i * region; }
};
// Opens t's device, checks the port ACTIVE, allocates the PD and registers the buffer with `access`.
void open_rc_device(VerbsApi& api, RcDevice& d, const PortTarget& t, size_t regions, size_t region,
                    std::optional<int> gid_index, int access);

// One RC QP (RESET) with its own send and receive CQs; the QP is destroyed before its CQs.
struct RcQp {
    Cq scq, rcq;
    Qp qp;
    uint32_t max_inline = 0;  // what the provider granted
};
RcQp make_rc_qp(VerbsApi& api, RcDevice& d, int depth, uint32_t inline_size, const std::string& name);

// Two RC QPs of one process on the same port, connected to each other and in RTS.
// Buffer layout: four regions of `region` bytes: A send, A recv, B send, B recv; one MR.
struct RcLoopback : RcDevice {
    RcQp a, b;

    RcLoopback() = default;
    RcLoopback(const RcLoopback&) = delete;
    RcLoopback& operator=(const RcLoopback&) = delete;
    // Both QPs before any CQ (each QP could use either CQ pair in a later layout), then the rest.
    ~RcLoopback() {
        b.qp.reset();
        a.qp.reset();
    }

    uint8_t* a_send() { return at(0); }
    uint8_t* a_recv() { return at(1); }
    uint8_t* b_send() { return at(2); }
    uint8_t* b_recv() { return at(3); }
};

struct RcOptions {
    size_t region = 4096;
    int depth = 16;              // send and receive queue depth
    uint32_t inline_size = 0;    // requested max_inline_data (0: none)
    std::optional<int> gid_index;
};
std::unique_ptr<RcLoopback> make_rc_loopback(VerbsApi& api, const PortTarget& t, const RcOptions& opt);

// The other end of an RC connection. mtu: the remote's active MTU enum (IBV_MTU_*; 0: ours);
// the path MTU is the smaller of the two.
struct RcRemote {
    uint32_t qpn = 0;
    uint32_t psn = 0;
    uint16_t lid = 0;
    ibv_gid gid{};
    int mtu = 0;
    uint8_t hop_limit = 1;
};
// A freshly created RC QP (RESET) to INIT: receives can be posted from here on (not in RESET).
void rc_init(VerbsApi& api, ibv_qp* qp, const PortTarget& t, const std::string& obj);
// An RC QP in INIT to RTR towards `remote`, then RTS with `local_psn`.
void rc_connect(VerbsApi& api, ibv_qp* qp, const PortTarget& t, const PortInfo& p, const RcRemote& remote,
                uint32_t local_psn, const std::string& obj);

void post_recv_region(VerbsApi& api, ibv_qp* qp, ibv_mr* mr, uint8_t* addr, uint32_t len, uint64_t id,
                      const char* what);

// perftest's latency report (linux-rdma/perftest src/perftest_parameters.c, print_report_lat):
// `deltas` are round-trip times (any unit); sorted, the top 2 (LAT_MEASURE_TAIL) dropped, each
// figure halved (rtt_factor 2 for SEND/WRITE): min = d[0], median as get_median(), average over
// the kept samples, p99 = d[ceil(m*0.99)], p99.9 = d[ceil(m*0.999)], max = d[m] with m the kept
// count. Needs at least 3 samples (throws std::invalid_argument otherwise).
struct LatencyFigures {
    double min = 0, median = 0, average = 0, p99 = 0, p999 = 0, max = 0;
    size_t kept = 0;
};
LatencyFigures latency_figures(std::vector<double> deltas);

}  // namespace rdma_agent::verbs
