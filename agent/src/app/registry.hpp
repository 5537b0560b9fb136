// The one explicit list of checks the agent runs, in report order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rdma_agent/check.hpp"
#include "rdma_agent/system_checks.hpp"

namespace rdma_agent {

struct RegistryEntry {
    std::string name;
    std::function<std::unique_ptr<Check>()> make;
    std::function<bool(const Config&)> enabled;
};

std::vector<RegistryEntry> check_registry(FlowSteeringProbe probe);

// Checks outside the seven stable ones: reported only when enabled in the config (or named in
// --only), so reports of configs without them do not change. Today: abi_scan.
std::vector<RegistryEntry> optional_check_registry();

}  // namespace rdma_agent
