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

}  // namespace rdma_agent
