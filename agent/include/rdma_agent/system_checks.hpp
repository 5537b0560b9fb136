// The checks that read the node's files only (stack, devices, mlx4_steering) and `facts`.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "rdma_agent/check.hpp"

namespace rdma_agent {

// Whether a device reports IBV_DEVICE_MANAGED_FLOW_STEERING; nullopt when it cannot be asked
// (fixture trees, no verbs access). Injected so the mlx4_steering check runs on fixtures.
using FlowSteeringProbe = std::function<std::optional<bool>(const std::string& ibdev)>;

std::unique_ptr<Check> make_stack_check();
std::unique_ptr<Check> make_devices_check();
std::unique_ptr<Check> make_mlx4_steering_check(FlowSteeringProbe probe);

// ConnectX-3 family PCI device ids (vendor 0x15b3) driven by mlx4_core.
bool is_mlx4_pci_id(unsigned vendor, unsigned device);

// One JSON document describing the node's RDMA state (rdma-agent facts).
nlohmann::json collect_facts(const FileSystem& fs);

}  // namespace rdma_agent
