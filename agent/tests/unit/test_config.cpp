#include <catch2/catch.hpp>

#include "rdma_agent/config_parser.hpp"

using namespace rdma_agent;

namespace {
std::string error_of(const std::string& yaml) {
    try {
        parse_config(yaml, "agent.yaml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST_CASE("a full config parses into every field") {
    const auto c = parse_config(R"(schema_version: 1
stack: {enabled: true, expected: mofed, version: "5.8"}
devices:
  roce_mode: RoCE v2
  expected:
    - name: mlx5_0
      ports: [1, 2]
      link_layer: Ethernet
      rate_gbps: {min: 25, max: 100}
verbs: {timeout_ms: 500, bytes: 8192}
multicast: {group: 239.2.2.2, datagrams: 5, timeout_ms: 100, bind_address: 10.77.0.11}
flow_steering: {required: true}
mlx4_steering: {enabled: false, expected: 10}
latency: {size: 64, iters: 100, budget_us: {median: 5.5, p99: 20}}
)", "agent.yaml");
    CHECK(c.from_file);
    CHECK(c.source == "agent.yaml");
    CHECK(c.stack.expected == "mofed");
    CHECK(c.stack.version == "5.8");
    REQUIRE(c.devices.expected.size() == 1);
    CHECK(c.devices.expected[0].name == "mlx5_0");
    CHECK(c.devices.expected[0].ports == std::vector<int>{1, 2});
    CHECK(c.devices.expected[0].link_layer == "Ethernet");
    CHECK(c.devices.expected[0].rate.min_gbps == 25.0);
    CHECK(c.devices.expected[0].rate.max_gbps == 100.0);
    CHECK(c.devices.roce_mode == "RoCE v2");
    CHECK(c.verbs.timeout_ms == 500);
    CHECK(c.verbs.bytes == 8192);
    CHECK(c.multicast.group == "239.2.2.2");
    CHECK(c.multicast.datagrams == 5);
    CHECK(c.multicast.bind_address == "10.77.0.11");
    CHECK(c.flow_steering.required);
    CHECK_FALSE(c.mlx4_steering.enabled);
    CHECK(c.mlx4_steering.expected == 10);
    CHECK(c.latency.size == 64);
    CHECK(c.latency.median_budget_us == 5.5);
    CHECK(c.latency.p99_budget_us == 20.0);
}

TEST_CASE("an empty file gives the defaults") {
    const auto c = parse_config("", "empty.yaml");
    CHECK(c.from_file);
    CHECK(c.stack.expected == "any");
    CHECK(c.mlx4_steering.expected == -1);
    CHECK_FALSE(c.latency.median_budget_us.has_value());
}

TEST_CASE("unknown keys are errors with file:line:column") {
    CHECK(error_of("stack:\n  expectd: inbox\n") ==
          "agent.yaml:2:3: unknown key 'expectd' in stack (expected one of: enabled, expected, version)");
    CHECK(error_of("stacks: {}\n").rfind("agent.yaml:1:1: unknown key 'stacks' in top level", 0) == 0);
}

TEST_CASE("wrong types are errors") {
    CHECK(error_of("verbs:\n  timeout_ms: fast\n") == "agent.yaml:2:15: expected an integer for verbs.timeout_ms, got 'fast'");
    CHECK(error_of("verbs:\n  enabled: maybe\n") == "agent.yaml:2:12: expected true or false for verbs.enabled, got 'maybe'");
    CHECK(error_of("devices:\n  expected: mlx5_0\n") ==
          "agent.yaml:2:13: expected a list of devices for devices.expected, got scalar 'mlx5_0'");
    CHECK(error_of("stack: inbox\n") == "agent.yaml:1:8: expected a mapping for stack, got scalar 'inbox'");
    CHECK(error_of("latency: {budget_us: {median: -3}}\n").find("expected a non-negative number for latency.budget_us.median") !=
          std::string::npos);
    CHECK(error_of("verbs: {timeout_ms: 1.5}\n").find("expected an integer") != std::string::npos);
}

TEST_CASE("invalid values and addresses are errors") {
    CHECK(error_of("multicast: {group: 10.0.0.1}\n").find("expected an IPv4 multicast address") != std::string::npos);
    CHECK(error_of("multicast: {group: 239.1.1.300}\n").find("got '239.1.1.300'") != std::string::npos);
    CHECK(error_of("multicast: {bind_address: 'node1'}\n").find("expected an IPv4 or IPv6 address for multicast.bind_address") !=
          std::string::npos);
    CHECK(error_of("stack: {expected: ofed}\n") ==
          "agent.yaml:1:19: expected one of 'inbox', 'kernel', 'mofed', 'any' for stack.expected, got 'ofed'");
    CHECK(error_of("mlx4_steering: {expected: 3}\n").find("expected -255..0 (device-managed steering) or 7..12") != std::string::npos);
    CHECK(error_of("mlx4_steering: {expected: 13}\n").find("expected an integer in -255..12") != std::string::npos);
    CHECK(error_of("devices: {expected: [{name: a, rate_gbps: {min: 100, max: 25}}]}\n").find("expected min <= max") !=
          std::string::npos);
    CHECK(error_of("devices: {expected: [{ports: [1]}]}\n").find("expected a 'name' in devices.expected[0]") != std::string::npos);
    CHECK(error_of("devices: {roce_mode: v2}\n").find("'IB/RoCE v1', 'RoCE v2'") != std::string::npos);
    CHECK(error_of("schema_version: 2\n").find("expected an integer in 1..1") != std::string::npos);
    CHECK(is_multicast_group("ff12:401b:ffff::1"));
    CHECK_FALSE(is_multicast_group("fe80::1"));
}

TEST_CASE("duplicate keys and broken YAML are errors") {
    CHECK(error_of("verbs: {}\nverbs: {}\n") == "agent.yaml:2:1: duplicate key 'verbs' in top level");
    CHECK(error_of("stack: [\n").rfind("agent.yaml:", 0) == 0);
    CHECK(error_of("stack: [\n").find("invalid YAML") != std::string::npos);
    CHECK(error_of("- a\n- b\n") == "agent.yaml:1:1: expected a mapping for top level, got a list");
}

TEST_CASE("a missing config file is an error naming it") {
    CHECK_THROWS_WITH(load_config_file("/nonexistent/agent.yaml"), "/nonexistent/agent.yaml: cannot read the config file");
}
