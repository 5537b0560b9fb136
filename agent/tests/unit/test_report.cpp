#include <catch2/catch.hpp>

#include <stdexcept>

#include "rdma_agent/report.hpp"

using namespace rdma_agent;

namespace {
Entity ent(const std::string& n, Status s) { return Entity{n, s, "", nlohmann::json::object()}; }
CheckResult result(const std::string& name, Status s, std::vector<Entity> es = {}) {
    return CheckResult{name, s, name + " message", std::move(es), 1.5};
}

class Throwing final : public Check {
public:
    std::string_view name() const override { return "stack"; }
    CheckResult run(const Context&) override { throw std::runtime_error("boom"); }
};
}  // namespace

TEST_CASE("grading: fail > warn > pass, skip never worsens") {
    CHECK(worst_of({}) == Status::pass);
    CHECK(worst_of({ent("a", Status::skip), ent("b", Status::skip)}) == Status::skip);
    CHECK(worst_of({ent("a", Status::skip), ent("b", Status::pass)}) == Status::pass);
    CHECK(worst_of({ent("a", Status::warn), ent("b", Status::pass)}) == Status::warn);
    CHECK(worst_of({ent("a", Status::warn), ent("b", Status::fail), ent("c", Status::skip)}) == Status::fail);
    CHECK(overall_status({result("a", Status::pass), result("b", Status::skip)}) == Status::pass);
    CHECK(overall_status({result("a", Status::skip)}) == Status::skip);
    CHECK(overall_status({result("a", Status::warn), result("b", Status::pass)}) == Status::warn);
    CHECK(overall_status({result("a", Status::warn), result("b", Status::fail)}) == Status::fail);
    CHECK(exit_code_for(Status::pass) == ExitCode::ok);
    CHECK(exit_code_for(Status::skip) == ExitCode::ok);
    CHECK(exit_code_for(Status::warn) == ExitCode::warning);
    CHECK(exit_code_for(Status::fail) == ExitCode::critical);
}

TEST_CASE("a check that throws is reported as fail with the text") {
    Config cfg;
    struct Nothing final : FileSystem {
        std::optional<std::string> read(const std::string&) const override { return std::nullopt; }
        std::vector<std::string> list(const std::string&) const override { return {}; }
        std::optional<std::string> readlink(const std::string&) const override { return std::nullopt; }
        bool exists(const std::string&) const override { return false; }
    } fs;
    Throwing t;
    const auto r = run_check(t, Context{cfg, fs});
    CHECK(r.name == "stack");
    CHECK(r.status == Status::fail);
    CHECK(r.message == "internal error in check stack: boom");
    CHECK(r.duration_ms >= 0.0);
}

TEST_CASE("json output has the stable schema") {
    Report rep{"0.1.0", "agent.yaml",
               {result("devices", Status::warn, {Entity{"rxe0/1", Status::warn, "slow", {{"rate_gbps", 10}}}})}};
    const auto j = nlohmann::json::parse(render_json(rep));
    CHECK(j["schema_version"] == 1);
    CHECK(j["status"] == "warn");
    CHECK(j["exit_code"] == 1);
    REQUIRE(j["checks"].size() == 1);
    const auto& c = j["checks"][0];
    CHECK(c["name"] == "devices");
    CHECK(c["status"] == "warn");
    CHECK(c["message"] == "devices message");
    CHECK(c["duration_ms"] == 1.5);
    CHECK(c["entities"][0]["name"] == "rxe0/1");
    CHECK(c["entities"][0]["details"]["rate_gbps"] == 10);
}

TEST_CASE("prometheus output: one gauge per check and entity, numeric details") {
    Report rep{"0.1.0", "x",
               {result("latency", Status::pass, {Entity{"rxe0/1", Status::pass, "ok", {{"median_us", 24.5}, {"device", "rxe0"}}}}),
                result("mlx4_steering", Status::skip)}};
    const auto out = render_prometheus(rep);
    CHECK(out.find("rdma_agent_check_status{check=\"latency\"} 0\n") != std::string::npos);
    CHECK(out.find("rdma_agent_check_status{check=\"mlx4_steering\"} -1\n") != std::string::npos);
    CHECK(out.find("rdma_agent_entity_status{check=\"latency\",entity=\"rxe0/1\"} 0\n") != std::string::npos);
    CHECK(out.find("rdma_agent_latency_median_us{entity=\"rxe0/1\"} 24.5\n") != std::string::npos);
    CHECK(out.find("rdma_agent_latency_device") == std::string::npos);  // strings are not gauges
    CHECK(out.find("rdma_agent_exit_code 0\n") != std::string::npos);
    CHECK(prometheus_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    CHECK(prometheus_name("rdma_agent_x-y.z") == "rdma_agent_x_y_z");
}

TEST_CASE("nagios output: status line names the failing checks") {
    Report rep{"0.1.0", "x", {result("stack", Status::pass), result("devices", Status::fail)}};
    const auto out = render_nagios(rep);
    CHECK(out.rfind("RDMA CRITICAL - devices: devices message |", 0) == 0);
    CHECK(out.find("'devices'=2;1;2") != std::string::npos);
    Report ok{"0.1.0", "x", {result("stack", Status::pass)}};
    CHECK(render_nagios(ok).rfind("RDMA OK - 1 checks passed or skipped |", 0) == 0);
    CHECK_THROWS_AS(render(ok, "xml"), std::invalid_argument);
    CHECK(render(ok, "text").find("PASS  stack: stack message") != std::string::npos);
}
