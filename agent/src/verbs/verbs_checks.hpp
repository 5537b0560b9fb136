// The checks that drive real verbs (libibverbs, librdmacm), and the latency measurement behind
// `rdma-agent latency`. Implemented in this directory; the registry (src/app) only calls these.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rdma_agent/check.hpp"

namespace rdma_agent {

class VerbsApi;  // the boundary to libibverbs/librdmacm (real, or a fake in unit tests)

std::shared_ptr<VerbsApi> make_real_verbs_api();

// The ports' GID tables of live devices through ibv_query_gid_table (one call per device and
// run) for the devices check (Context::gids), instead of one sysfs file per table slot. Falls
// back to sysfs (returns nullopt) when the device cannot be opened or queried. `api` may be
// null: a real one is then made on first use. `ifname` maps a GID's netdev ifindex to its name
// (default if_indextoname; tests inject one).
namespace sysfs {
class GidSource;
}
using IfName = std::function<std::optional<std::string>(unsigned ifindex)>;
std::shared_ptr<sysfs::GidSource> make_verbs_gid_source(std::shared_ptr<VerbsApi> api = nullptr, IfName ifname = {});

std::unique_ptr<Check> make_verbs_check(std::shared_ptr<VerbsApi> api);
std::unique_ptr<Check> make_multicast_check(std::shared_ptr<VerbsApi> api);
std::unique_ptr<Check> make_flow_steering_check(std::shared_ptr<VerbsApi> api);
std::unique_ptr<Check> make_latency_check(std::shared_ptr<VerbsApi> api);

// RC loopback ping-pong, measured the way perftest's ib_send_lat does: one sample per round
// trip, half of it reported, samples sorted and the top 2 dropped.
struct LatencyRequest {
    std::string device;                 // empty: first device found
    int port = 1;
    std::optional<int> gid_index;       // RoCE: default the first RoCE v2 IPv4-mapped GID
    int size = 2;
    int iters = 1000;
    int timeout_ms = 5000;
    // QP B answers from its own thread, busy-polling like ib_send_lat's server process (the
    // client and server of ib_send_lat poll concurrently); false: one thread plays both sides.
    bool responder_thread = true;
    // Inline sends up to this size (0: none, which is what ib_send_lat uses on rxe).
    int inline_size = 0;
    // Keep every sample (half round trip, in measuring order) in LatencyStats::samples_us.
    bool keep_samples = false;
};

struct LatencyStats {
    std::string device;
    int port = 1;
    int gid_index = -1;
    int size = 0;
    int iters = 0;
    double min_us = 0, median_us = 0, average_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
    std::vector<double> samples_us;  // with LatencyRequest::keep_samples: iters - 1 half round trips
};

// Throws std::runtime_error naming the failing verbs call and errno text.
LatencyStats measure_latency(VerbsApi& api, const LatencyRequest& request);

// Multicast fan-out between nodes: `rdma-agent mcast recv` on every receiver (joins, then
// writes `ready_file` so that an orchestrator knows when to start the sender), `rdma-agent mcast
// send` on one node. Datagrams carry their sequence number and a pattern; the receiver reports
// received / lost / corrupted and the first missing sequence numbers.
struct FanoutRequest {
    std::string group = "239.1.1.1";
    std::optional<std::string> bind;     // default: the IPv4 address of the first ACTIVE port's netdev
    int count = 100;
    int timeout_ms = 10000;              // join, and (receiver) the whole receive
    int interval_us = 1000;              // sender: pause between datagrams
    std::string ready_file;              // receiver: written once joined
};
nlohmann::json mcast_receive(VerbsApi& api, const Context& ctx, const FanoutRequest& req);
nlohmann::json mcast_send(VerbsApi& api, const Context& ctx, const FanoutRequest& req);

// Whether `ibdev` reports IBV_DEVICE_MANAGED_FLOW_STEERING (ibv_query_device_ex); nullopt when the
// device cannot be opened. Fits the FlowSteeringProbe of the mlx4_steering check.
std::optional<bool> managed_flow_steering(VerbsApi& api, const std::string& ibdev);

}  // namespace rdma_agent
