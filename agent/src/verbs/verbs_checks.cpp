// PLACEHOLDER so the tree links while the verbs layer is written; replaced by the real
// implementation (every check here reports `fail: not implemented`, never pass).
#include "verbs_checks.hpp"

#include <stdexcept>

namespace rdma_agent {

class VerbsApi {};

namespace {
class Unimplemented final : public Check {
public:
    explicit Unimplemented(std::string_view n) : name_(n) {}
    std::string_view name() const override { return name_; }
    CheckResult run(const Context&) override {
        return CheckResult{std::string(name_), Status::fail, "not implemented yet", {}, 0.0};
    }
private:
    std::string_view name_;
};
}  // namespace

std::shared_ptr<VerbsApi> make_real_verbs_api() { return std::make_shared<VerbsApi>(); }
std::unique_ptr<Check> make_verbs_check(std::shared_ptr<VerbsApi>) { return std::make_unique<Unimplemented>("verbs"); }
std::unique_ptr<Check> make_multicast_check(std::shared_ptr<VerbsApi>) { return std::make_unique<Unimplemented>("multicast"); }
std::unique_ptr<Check> make_flow_steering_check(std::shared_ptr<VerbsApi>) { return std::make_unique<Unimplemented>("flow_steering"); }
std::unique_ptr<Check> make_latency_check(std::shared_ptr<VerbsApi>) { return std::make_unique<Unimplemented>("latency"); }
LatencyStats measure_latency(VerbsApi&, const LatencyRequest&) { throw std::runtime_error("latency: not implemented yet"); }

}  // namespace rdma_agent
