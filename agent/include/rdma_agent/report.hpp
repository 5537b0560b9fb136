// Running checks and rendering their results: text, json, nagios, prometheus.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rdma_agent/check.hpp"

namespace rdma_agent {

inline constexpr int kSchemaVersion = 1;

// Nagios/NHC exit codes.
enum class ExitCode : int { ok = 0, warning = 1, critical = 2, unknown = 3 };

struct Report {
    std::string agent_version;
    std::string config_source;
    std::vector<CheckResult> checks;
};

// Overall status: fail > warn > pass; skip never worsens the verdict (all skipped: skip).
Status overall_status(const std::vector<CheckResult>& checks);
ExitCode exit_code_for(Status overall);

// Runs one check: measures duration_ms, turns an exception into `fail` with its text.
CheckResult run_check(Check& check, const Context& ctx);

nlohmann::json to_json(const CheckResult& r);
nlohmann::json to_json(const Report& report);

std::string render_json(const Report& report);
std::string render_text(const Report& report);
std::string render_nagios(const Report& report);
std::string render_prometheus(const Report& report);

// "json" | "text" | "nagios" | "prometheus"; throws std::invalid_argument otherwise.
std::string render(const Report& report, const std::string& format);

// Prometheus metric-name and label-value helpers (exposed for tests).
std::string prometheus_name(const std::string& s);
std::string prometheus_label_value(const std::string& s);

}  // namespace rdma_agent
