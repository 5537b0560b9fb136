#include <catch2/catch.hpp>

#include "registry.hpp"

using namespace rdma_agent;

TEST_CASE("the registry wires all seven checks, in the stable order") {
    const auto reg = check_registry({});
    REQUIRE(reg.size() == std::size(kCheckNames));
    for (std::size_t i = 0; i < reg.size(); ++i) {
        CHECK(reg[i].name == kCheckNames[i]);
        auto check = reg[i].make();  // creating a check touches no device
        REQUIRE(check);
        CHECK(check->name() == kCheckNames[i]);
    }
}

TEST_CASE("each check can be disabled in the config") {
    Config all;
    Config none;
    none.stack.enabled = none.devices.enabled = none.verbs.enabled = none.multicast.enabled = false;
    none.flow_steering.enabled = none.mlx4_steering.enabled = none.latency.enabled = false;
    for (const auto& e : check_registry({})) {
        INFO(e.name);
        CHECK(e.enabled(all));
        CHECK_FALSE(e.enabled(none));
    }
}
