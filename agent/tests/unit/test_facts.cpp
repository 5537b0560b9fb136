#include <catch2/catch.hpp>

#include "node_builder.hpp"
#include "rdma_agent/system_checks.hpp"

using namespace rdma_agent;
using namespace rdma_agent::test;

TEST_CASE("facts describe devices, ports, GIDs, stack and module parameters") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    fs.file("/etc/modprobe.d/mlx4.conf", "options mlx4_core log_num_mgm_entry_size=-1\n");
    const auto j = collect_facts(fs);
    CHECK(j["schema_version"] == 1);
    CHECK(j["stack"]["detected"] == "inbox");
    CHECK(j["stack"]["kernel_release"] == "6.1.0-27-amd64");
    CHECK(j["stack"]["rdma_core_version"] == "44.0");
    CHECK(j["stack"]["uverbs_abi_version"] == 6);
    REQUIRE(j["devices"].size() == 1);
    const auto& d = j["devices"][0];
    CHECK(d["name"] == "rxe0");
    CHECK(d["provider"] == "rxe");
    CHECK(d["uverbs"] == "uverbs0");
    CHECK(d["pci_id"].is_null());
    const auto& p = d["ports"][0];
    CHECK(p["state"] == "ACTIVE");
    CHECK(p["rate_gbps"] == 10.0);
    REQUIRE(p["gids"].size() == 2);  // the zero GID is left out
    CHECK(p["gids"][1]["type"] == "RoCE v2");
    CHECK(p["gids"][1]["ipv4"] == "10.77.0.11");
    const auto& m = j["module_parameters"]["mlx4_core.log_num_mgm_entry_size"];
    CHECK(m["configured"] == -1);
    CHECK(m["configured_in"] == "/etc/modprobe.d/mlx4.conf:1");
    CHECK(m["in_effect"].is_null());
    CHECK(m["loaded"] == false);
}
