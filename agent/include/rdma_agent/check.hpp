// The contract every check implements, and the result model every report format reads.
// Core layer: no RDMA dependency here (nlohmann/json is header-only).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rdma_agent/config.hpp"
#include "rdma_agent/filesystem.hpp"

namespace rdma_agent {

namespace sysfs {
class GidSource;  // rdma_agent/sysfs.hpp
}

// Grading follows Nagios/NHC: pass < skip < warn < fail for the overall verdict;
// skip never makes the verdict worse than pass.
enum class Status { pass, warn, fail, skip };

std::string_view to_string(Status s);

// One graded item inside a check: a device, a port, a module, a multicast group...
struct Entity {
    std::string name;            // "rxe0/1", "mlx4_core", "239.1.1.1"
    Status status = Status::pass;
    std::string message;         // the cause, for this entity
    nlohmann::json details = nlohmann::json::object();  // numbers become Prometheus gauges
};

struct CheckResult {
    std::string name;            // one of the stable check names below
    Status status = Status::pass;
    std::string message;         // names the actual cause, never vague
    std::vector<Entity> entities;
    double duration_ms = 0.0;
};

// Stable check names (docs/agent-json-schema.md); other tools rely on them.
inline constexpr std::string_view kCheckNames[] = {
    "stack", "devices", "verbs", "multicast", "flow_steering", "mlx4_steering", "latency"};

// What a check may use. Everything on the node is reached through `fs` (injected roots),
// so checks run unchanged on fixture trees.
struct Context {
    const Config& config;
    const FileSystem& fs;
    // Optional faster source of the ports' GID tables (the live device through verbs); null:
    // read them from sysfs through `fs`. Never set on fixture roots.
    sysfs::GidSource* gids = nullptr;
};

class Check {
public:
    virtual ~Check() = default;
    virtual std::string_view name() const = 0;
    // Must not throw for expected node states; an exception is reported as `fail` with its text.
    virtual CheckResult run(const Context& ctx) = 0;
};

// Worst status of the entities (skip ignored unless all skip); a helper for checks.
Status worst_of(const std::vector<Entity>& entities);

}  // namespace rdma_agent
