// Cross-node RC traffic: `rdma-agent serve` on one node, `rdma-agent check --peer HOST` on another.
// The QP addresses are exchanged over TCP (rdma_agent/peer_protocol.hpp); then the client sends a
// pattern of `verify` bytes, the server checks it and echoes it, the client checks the echo, and
// `iters` SEND ping-pongs of `size` bytes measure the node-to-node round trip (reported like
// ib_send_lat: half the round trip, perftest's statistics).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rdma_agent/check.hpp"
#include "rdma_agent/peer_protocol.hpp"

namespace rdma_agent {

class VerbsApi;

struct PeerLocal {
    std::string device;              // empty: the config's expected device, else the first ACTIVE port
    int port = 0;                    // 0: as above
    std::optional<int> gid_index;
    int timeout_ms = 10000;          // TCP connect/read and each completion wait
};

struct ServeOptions {
    PeerLocal local;
    std::string listen = "0.0.0.0";
    uint16_t tcp_port = peer::kDefaultPort;
    int connections = 1;             // serve this many, then exit (0: until the idle timeout)
    int idle_timeout_s = 120;        // no connection for this long: exit
};

// Runs the listener; one line per connection on stderr. Exit codes: 0 every connection served,
// 1 one failed, 2 none arrived within the idle timeout, 3 cannot listen (address in use, ...).
int serve(std::shared_ptr<VerbsApi> api, const ServeOptions& opt, const Context& ctx);

struct PeerCheckOptions {
    PeerLocal local;
    std::vector<peer::Endpoint> peers;
    uint32_t verify = 8192;
    uint32_t size = 2;
    uint32_t iters = 1000;
};

// The `peer` check: one entity per peer (HOST:PORT), with bytes verified and latency figures.
std::unique_ptr<Check> make_peer_check(std::shared_ptr<VerbsApi> api, PeerCheckOptions opt);

}  // namespace rdma_agent
