#include "rdma_agent/check.hpp"

namespace rdma_agent {

std::string_view to_string(Status s) {
    switch (s) {
        case Status::pass: return "pass";
        case Status::warn: return "warn";
        case Status::fail: return "fail";
        case Status::skip: return "skip";
    }
    return "unknown";
}

namespace {
int rank(Status s) {
    switch (s) {
        case Status::skip: return 0;
        case Status::pass: return 1;
        case Status::warn: return 2;
        case Status::fail: return 3;
    }
    return 3;
}
}  // namespace

Status worst_of(const std::vector<Entity>& entities) {
    if (entities.empty()) return Status::pass;
    Status worst = Status::skip;
    for (const auto& e : entities)
        if (rank(e.status) > rank(worst)) worst = e.status;
    return worst;
}

}  // namespace rdma_agent
