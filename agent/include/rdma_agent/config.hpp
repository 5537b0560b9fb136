// The agent's configuration: /etc/rdma-agent/agent.yaml (docs/agent-config.md).
// Every key is optional; absence means "check what is found". Parsing errors carry
// file:line:column and stop the agent with exit 3 (never a silent default).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rdma_agent {

struct RateRange {
    std::optional<double> min_gbps;
    std::optional<double> max_gbps;
};

struct ExpectedDevice {
    std::string name;                       // "rxe0", "mlx4_0"
    std::vector<int> ports;                 // empty: every port of the device
    std::optional<std::string> link_layer;  // "InfiniBand" | "Ethernet"
    RateRange rate;
};

struct StackConfig {
    bool enabled = true;
    std::string expected = "any";           // inbox | kernel | mofed | any
    std::optional<std::string> version;     // mofed: ofed_info -s prefix; inbox/kernel: rdma-core version prefix
};

struct DevicesConfig {
    bool enabled = true;
    std::vector<ExpectedDevice> expected;   // empty: every device found, at least one required
    std::optional<std::string> roce_mode;   // expected rdma_cm default_roce_mode, e.g. "RoCE v2"
};

struct VerbsConfig {
    bool enabled = true;
    int timeout_ms = 2000;
    int bytes = 4096;                       // pattern buffer size
};

struct MulticastConfig {
    bool enabled = true;
    std::string group = "239.1.1.1";        // IPv4 group on RoCE, MGID on InfiniBand
    int datagrams = 20;
    int timeout_ms = 2000;
    std::optional<std::string> bind_address; // default: the IPv4 address of the port's netdev
};

struct FlowSteeringConfig {
    bool enabled = true;
    bool required = false;                  // unsupported: fail when required, else skip
};

struct Mlx4SteeringConfig {
    bool enabled = true;
    int expected = -1;                      // expected log_num_mgm_entry_size
};

struct LatencyConfig {
    bool enabled = true;                    // runs only when a budget is set
    int size = 2;
    int iters = 1000;
    std::optional<double> median_budget_us;
    std::optional<double> p99_budget_us;
};

// abi_scan (issue 8): off unless paths are configured. Paths are globs on the real filesystem.
struct AbiScanConfig {
    bool enabled = false;                    // true once paths are given (enabled: false turns it off)
    std::vector<std::string> paths;          // globs of the binaries to protect
    std::string manifest = "installed";      // a manifest file, or "installed" (the node's stack, symbols only)
};

struct Config {
    std::string source = "(built-in defaults)";  // file the config came from
    bool from_file = false;
    StackConfig stack;
    DevicesConfig devices;
    VerbsConfig verbs;
    MulticastConfig multicast;
    FlowSteeringConfig flow_steering;
    Mlx4SteeringConfig mlx4_steering;
    LatencyConfig latency;
    AbiScanConfig abi_scan;
};

}  // namespace rdma_agent
