#include "registry.hpp"

#include "rdma_agent/abi_check.hpp"
#include "verbs_checks.hpp"

namespace rdma_agent {

std::vector<RegistryEntry> check_registry(FlowSteeringProbe probe) {
    // One VerbsApi shared by the verbs-driving checks, created only when one of them runs.
    auto api = std::make_shared<std::shared_ptr<VerbsApi>>();
    auto get_api = [api] {
        if (!*api) *api = make_real_verbs_api();
        return *api;
    };
    return {
        {"stack", [] { return make_stack_check(); }, [](const Config& c) { return c.stack.enabled; }},
        {"devices", [] { return make_devices_check(); }, [](const Config& c) { return c.devices.enabled; }},
        {"verbs", [get_api] { return make_verbs_check(get_api()); }, [](const Config& c) { return c.verbs.enabled; }},
        {"multicast", [get_api] { return make_multicast_check(get_api()); }, [](const Config& c) { return c.multicast.enabled; }},
        {"flow_steering", [get_api] { return make_flow_steering_check(get_api()); },
         [](const Config& c) { return c.flow_steering.enabled; }},
        {"mlx4_steering", [probe] { return make_mlx4_steering_check(probe); },
         [](const Config& c) { return c.mlx4_steering.enabled; }},
        {"latency", [get_api] { return make_latency_check(get_api()); }, [](const Config& c) { return c.latency.enabled; }},
    };
}

std::vector<RegistryEntry> optional_check_registry() {
    return {
        {std::string(kAbiScanCheckName), [] { return make_abi_scan_check(); },
         [](const Config& c) { return c.abi_scan.enabled && !c.abi_scan.paths.empty(); }},
    };
}

}  // namespace rdma_agent
