// Helpers shared by the file-reading checks (private to src/checks).
#pragma once

#include <string>
#include <vector>

#include "rdma_agent/check.hpp"

namespace rdma_agent::checks {

inline Entity entity(std::string name, Status s, std::string message, nlohmann::json details = nlohmann::json::object()) {
    return Entity{std::move(name), s, std::move(message), std::move(details)};
}

// The check's message: the causes of the worst entities (up to three), else `ok_message`.
inline CheckResult summarize(std::string name, std::vector<Entity> entities, const std::string& ok_message) {
    CheckResult r;
    r.name = std::move(name);
    r.status = worst_of(entities);
    if (r.status == Status::fail || r.status == Status::warn) {
        std::string msg;
        int n = 0, more = 0;
        for (const auto& e : entities) {
            if (e.status != r.status) continue;
            if (n < 3) msg += (n ? "; " : "") + e.message;
            else ++more;
            ++n;
        }
        if (more) msg += "; and " + std::to_string(more) + " more";
        r.message = msg;
    } else {
        r.message = ok_message;
    }
    r.entities = std::move(entities);
    return r;
}

inline std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

}  // namespace rdma_agent::checks
