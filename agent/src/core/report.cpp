// Running checks and the four output formats (docs/agent-json-schema.md).
#include "rdma_agent/report.hpp"

#include <cmath>
#include <exception>
#include <map>
#include <sstream>
#include <stdexcept>

namespace rdma_agent {

Status overall_status(const std::vector<CheckResult>& checks) {
    if (checks.empty()) return Status::skip;
    bool any_fail = false, any_warn = false, any_pass = false;
    for (const auto& c : checks) {
        any_fail |= c.status == Status::fail;
        any_warn |= c.status == Status::warn;
        any_pass |= c.status == Status::pass;
    }
    if (any_fail) return Status::fail;
    if (any_warn) return Status::warn;
    if (any_pass) return Status::pass;
    return Status::skip;
}

ExitCode exit_code_for(Status overall) {
    switch (overall) {
        case Status::fail: return ExitCode::critical;
        case Status::warn: return ExitCode::warning;
        case Status::pass:
        case Status::skip: return ExitCode::ok;
    }
    return ExitCode::unknown;
}

CheckResult run_check(Check& check, const Context& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    CheckResult r;
    try {
        r = check.run(ctx);
    } catch (const std::exception& e) {
        r = CheckResult{std::string(check.name()), Status::fail,
                        "internal error in check " + std::string(check.name()) + ": " + e.what(), {}, 0.0};
    } catch (...) {
        r = CheckResult{std::string(check.name()), Status::fail,
                        "internal error in check " + std::string(check.name()) + ": unknown exception", {}, 0.0};
    }
    if (r.name.empty()) r.name = std::string(check.name());
    const auto t1 = std::chrono::steady_clock::now();
    r.duration_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    r.duration_ms = std::round(r.duration_ms * 1000.0) / 1000.0;
    return r;
}

nlohmann::json to_json(const CheckResult& r) {
    nlohmann::json entities = nlohmann::json::array();
    for (const auto& e : r.entities)
        entities.push_back({{"name", e.name}, {"status", to_string(e.status)}, {"message", e.message},
                            {"details", e.details}});
    return {{"name", r.name}, {"status", to_string(r.status)}, {"message", r.message},
            {"entities", entities}, {"duration_ms", r.duration_ms}};
}

nlohmann::json to_json(const Report& report) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : report.checks) checks.push_back(to_json(c));
    const Status overall = overall_status(report.checks);
    return {{"schema_version", kSchemaVersion},
            {"agent_version", report.agent_version},
            {"config", report.config_source},
            {"status", to_string(overall)},
            {"exit_code", static_cast<int>(exit_code_for(overall))},
            {"checks", checks}};
}

std::string render_json(const Report& report) {
    return to_json(report).dump(2) + "\n";
}

namespace {
std::string upper(std::string_view s) {
    std::string u(s);
    for (auto& ch : u) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
    return u;
}
int status_value(Status s) {
    // Gauge values: 0 pass, 1 warn, 2 fail (Nagios order), -1 skip.
    switch (s) {
        case Status::pass: return 0;
        case Status::warn: return 1;
        case Status::fail: return 2;
        case Status::skip: return -1;
    }
    return 2;
}
std::string one_line(std::string s) {
    for (auto& ch : s)
        if (ch == '\n' || ch == '|') ch = ' ';
    return s;
}
std::string format_number(double v) {
    std::ostringstream os;
    os.precision(15);
    os << v;
    return os.str();
}
}  // namespace

std::string render_text(const Report& report) {
    std::ostringstream os;
    for (const auto& c : report.checks) {
        os << upper(to_string(c.status)) << "  " << c.name << ": " << c.message << "\n";
        for (const auto& e : c.entities)
            os << "      " << upper(to_string(e.status)) << "  " << e.name << ": " << e.message << "\n";
    }
    const Status overall = overall_status(report.checks);
    os << "overall: " << upper(to_string(overall)) << " (exit " << static_cast<int>(exit_code_for(overall))
       << ", config " << report.config_source << ")\n";
    return os.str();
}

std::string render_nagios(const Report& report) {
    // Nagios plugin output: one status line, perfdata after '|', long text on later lines.
    const Status overall = overall_status(report.checks);
    const char* word = overall == Status::fail ? "CRITICAL" : overall == Status::warn ? "WARNING" : "OK";
    std::ostringstream line, perf, longtext;
    std::string summary;
    int n_bad = 0;
    for (const auto& c : report.checks) {
        if (c.status == Status::fail || c.status == Status::warn) {
            summary += (n_bad++ ? "; " : "") + c.name + ": " + one_line(c.message);
        }
        perf << " '" << c.name << "'=" << status_value(c.status) << ";1;2";
        perf << " '" << c.name << "_ms'=" << format_number(c.duration_ms) << "ms";
        longtext << upper(to_string(c.status)) << " " << c.name << ": " << one_line(c.message) << "\n";
    }
    if (summary.empty()) summary = std::to_string(report.checks.size()) + " checks passed or skipped";
    line << "RDMA " << word << " - " << summary << " |" << perf.str() << "\n" << longtext.str();
    return line.str();
}

std::string prometheus_name(const std::string& s) {
    std::string out;
    for (char ch : s) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        out += ok ? ch : '_';
    }
    if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out = "_" + out;
    return out;
}

std::string prometheus_label_value(const std::string& s) {
    std::string out;
    for (char ch : s) {
        if (ch == '\\') out += "\\\\";
        else if (ch == '"') out += "\\\"";
        else if (ch == '\n') out += "\\n";
        else out += ch;
    }
    return out;
}

std::string render_prometheus(const Report& report) {
    // node_exporter textfile collector format (text exposition format 0.0.4).
    std::ostringstream os;
    os << "# HELP rdma_agent_check_status Check status: 0 pass, 1 warn, 2 fail, -1 skip.\n"
          "# TYPE rdma_agent_check_status gauge\n";
    for (const auto& c : report.checks)
        os << "rdma_agent_check_status{check=\"" << prometheus_label_value(c.name) << "\"} " << status_value(c.status) << "\n";
    os << "# HELP rdma_agent_check_duration_seconds Time the check took.\n"
          "# TYPE rdma_agent_check_duration_seconds gauge\n";
    for (const auto& c : report.checks)
        os << "rdma_agent_check_duration_seconds{check=\"" << prometheus_label_value(c.name) << "\"} "
           << format_number(c.duration_ms / 1000.0) << "\n";
    os << "# HELP rdma_agent_entity_status Entity status: 0 pass, 1 warn, 2 fail, -1 skip.\n"
          "# TYPE rdma_agent_entity_status gauge\n";
    for (const auto& c : report.checks)
        for (const auto& e : c.entities)
            os << "rdma_agent_entity_status{check=\"" << prometheus_label_value(c.name) << "\",entity=\""
               << prometheus_label_value(e.name) << "\"} " << status_value(e.status) << "\n";
    // Numeric details become gauges rdma_agent_<check>_<key>{entity=...}, e.g. latency figures.
    std::map<std::string, std::vector<std::string>> series;
    for (const auto& c : report.checks)
        for (const auto& e : c.entities)
            for (const auto& [key, value] : e.details.items()) {
                if (!value.is_number() && !value.is_boolean()) continue;
                const double v = value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0) : value.get<double>();
                const std::string metric = prometheus_name("rdma_agent_" + c.name + "_" + key);
                series[metric].push_back(metric + "{entity=\"" + prometheus_label_value(e.name) + "\"} " + format_number(v));
            }
    for (const auto& [metric, lines] : series) {
        os << "# TYPE " << metric << " gauge\n";
        for (const auto& l : lines) os << l << "\n";
    }
    const Status overall = overall_status(report.checks);
    os << "# HELP rdma_agent_exit_code Exit code of the run (Nagios: 0 ok, 1 warning, 2 critical).\n"
          "# TYPE rdma_agent_exit_code gauge\n"
       << "rdma_agent_exit_code " << static_cast<int>(exit_code_for(overall)) << "\n";
    return os.str();
}

std::string render(const Report& report, const std::string& format) {
    if (format == "json") return render_json(report);
    if (format == "text") return render_text(report);
    if (format == "nagios") return render_nagios(report);
    if (format == "prometheus") return render_prometheus(report);
    throw std::invalid_argument("unknown format '" + format + "' (expected text, json, nagios or prometheus)");
}

}  // namespace rdma_agent
