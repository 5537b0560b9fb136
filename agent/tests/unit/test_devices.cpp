#include <catch2/catch.hpp>

#include "node_builder.hpp"
#include "rdma_agent/system_checks.hpp"

using namespace rdma_agent;
using namespace rdma_agent::test;

namespace {
CheckResult run_devices(const FileSystem& fs, const Config& cfg = {}) {
    auto c = make_devices_check();
    return c->run(Context{cfg, fs});
}
}  // namespace

TEST_CASE("an ACTIVE rxe port with a RoCE v2 GID passes") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    const auto r = run_devices(fs);
    INFO(r.message);
    CHECK(r.status == Status::pass);
    REQUIRE(r.entities.size() == 1);
    CHECK(r.entities[0].name == "rxe0/1");
    CHECK(r.entities[0].details["roce_v2_gid_index"] == 1);
    CHECK(r.entities[0].details["netdevs"] == nlohmann::json::array({"ens4"}));
    CHECK(r.entities[0].message ==
          "port 1 of rxe0 ACTIVE/LinkUp, Ethernet, 10 Gb/sec (1X QDR), RoCE v2 GID index 1, netdev ens4");
}

TEST_CASE("no device without config fails") {
    FakeFileSystem fs;
    inbox_stack(fs);
    const auto r = run_devices(fs);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("no RDMA device under /sys/class/infiniband") != std::string::npos);
}

TEST_CASE("expected devices, link layer and rate range") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    Config cfg;
    cfg.devices.expected.push_back(ExpectedDevice{"mlx5_0", {}, std::nullopt, {}});
    auto r = run_devices(fs, cfg);
    CHECK(r.status == Status::fail);
    CHECK(r.message == "expected device mlx5_0 not found (present: rxe0)");

    cfg.devices.expected = {ExpectedDevice{"rxe0", {1}, std::string("InfiniBand"), {25.0, std::nullopt}}};
    r = run_devices(fs, cfg);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("link layer is Ethernet, expected InfiniBand") != std::string::npos);
    CHECK(r.message.find("runs at 10 Gb/s, below the expected minimum 25") != std::string::npos);

    cfg.devices.expected = {ExpectedDevice{"rxe0", {2}, std::nullopt, {}}};
    r = run_devices(fs, cfg);
    CHECK(r.message == "expected port 2 of rxe0 does not exist");

    cfg.devices.expected = {ExpectedDevice{"rxe0", {1}, std::string("Ethernet"), {1.0, 10.0}}};
    CHECK(run_devices(fs, cfg).status == Status::pass);
}

TEST_CASE("a DOWN port names its physical state") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    fs.file("/sys/class/infiniband/rxe0/ports/1/state", "1: DOWN\n");
    fs.file("/sys/class/infiniband/rxe0/ports/1/phys_state", "2: Polling\n");
    const auto r = run_devices(fs);
    CHECK(r.status == Status::fail);
    CHECK(r.message == "port 1 of rxe0 is DOWN (phys state Polling): cable, switch or peer down?");
}

TEST_CASE("no RoCE v2 GID fails; rdma_cm RoCE mode compared when configured") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    Config cfg;
    cfg.devices.roce_mode = "RoCE v2";
    auto r = run_devices(fs, cfg);
    CHECK(r.status == Status::warn);
    CHECK(r.message.find("/sys/kernel/config/rdma_cm/rxe0/ports/1/default_roce_mode absent") != std::string::npos);
    fs.file("/sys/kernel/config/rdma_cm/rxe0/ports/1/default_roce_mode", "IB/RoCE v1\n");
    r = run_devices(fs, cfg);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("default RoCE mode of port 1 of rxe0 is 'IB/RoCE v1', expected 'RoCE v2'") != std::string::npos);
    fs.file("/sys/kernel/config/rdma_cm/rxe0/ports/1/default_roce_mode", "RoCE v2\n");
    CHECK(run_devices(fs, cfg).status == Status::pass);

    fs.file("/sys/class/infiniband/rxe0/ports/1/gid_attrs/types/1", "IB/RoCE v1\n");
    r = run_devices(fs, cfg);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("has no RoCE v2 GID (GIDs: 0:IB/RoCE v1, 1:IB/RoCE v1)") != std::string::npos);
}

TEST_CASE("rdma_cm not loaded fails when a RoCE mode is expected") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    fs.file("/proc/modules", "ib_core 1 0 - Live 0x0\n");
    Config cfg;
    cfg.devices.roce_mode = "RoCE v2";
    const auto r = run_devices(fs, cfg);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("kernel module rdma_cm is not loaded") != std::string::npos);
}
