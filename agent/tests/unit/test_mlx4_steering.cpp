#include <catch2/catch.hpp>

#include "node_builder.hpp"
#include "rdma_agent/system_checks.hpp"

using namespace rdma_agent;
using namespace rdma_agent::test;

namespace {
CheckResult run_mlx4(const FileSystem& fs, FlowSteeringProbe probe = {}, int expected = -1) {
    Config cfg;
    cfg.mlx4_steering.expected = expected;
    auto c = make_mlx4_steering_check(std::move(probe));
    return c->run(Context{cfg, fs});
}
void mlx4_loaded(FakeFileSystem& fs, const std::string& value) {
    fs.file("/proc/modules", "mlx4_core 405504 0 - Live 0x0\n");
    fs.file("/sys/module/mlx4_core/parameters/log_num_mgm_entry_size", value + "\n");
}
void connectx3(FakeFileSystem& fs, bool with_ibdev) {
    fs.file("/sys/bus/pci/devices/0000:03:00.0/vendor", "0x15b3\n");
    fs.file("/sys/bus/pci/devices/0000:03:00.0/device", "0x1007\n");
    if (with_ibdev)
        fs.link("/sys/class/infiniband/mlx4_0/device/driver", "../../../../bus/pci/drivers/mlx4_core");
}
auto probe_returning(std::optional<bool> v) {
    return [v](const std::string&) { return v; };
}
}  // namespace

TEST_CASE("ConnectX-3 ids come from the mlx4 PCI table") {
    CHECK(is_mlx4_pci_id(0x15b3, 0x1003));
    CHECK(is_mlx4_pci_id(0x15b3, 0x1007));
    CHECK_FALSE(is_mlx4_pci_id(0x15b3, 0x1017));  // ConnectX-5: mlx5
    CHECK_FALSE(is_mlx4_pci_id(0x8086, 0x1003));
}

TEST_CASE("not loaded and no hardware: skip") {
    FakeFileSystem fs;
    fs.file("/proc/modules", "ib_core 1 0 - Live 0x0\n");
    const auto r = run_mlx4(fs);
    CHECK(r.status == Status::skip);
    CHECK(r.message == "mlx4_core not loaded and no ConnectX-3 (mlx4) PCI device present (not configured)");
}

TEST_CASE("hardware present but mlx4_core not loaded: fail") {
    FakeFileSystem fs;
    fs.file("/proc/modules", "");
    connectx3(fs, false);
    const auto r = run_mlx4(fs);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("0000:03:00.0 present but mlx4_core is not loaded") != std::string::npos);
}

TEST_CASE("configured but not in effect: reload or initramfs rebuild") {
    FakeFileSystem fs;
    mlx4_loaded(fs, "10");
    fs.file("/etc/modprobe.d/mlx4.conf", "options mlx4_core log_num_mgm_entry_size=-1\n");
    const auto r = run_mlx4(fs);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("configured -1 in /etc/modprobe.d/mlx4.conf:1 but 10 in effect") != std::string::npos);
    CHECK(r.message.find("update-initramfs -u") != std::string::npos);
    CHECK(r.entities[0].details["vma_ready"] == false);
}

TEST_CASE("in effect but not the expected value") {
    FakeFileSystem fs;
    mlx4_loaded(fs, "10");
    const auto r = run_mlx4(fs);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("log_num_mgm_entry_size is 10 in effect (not configured), expected -1") != std::string::npos);
}

TEST_CASE("loaded without hardware, value as expected: pass, nothing to confirm DMFS on") {
    FakeFileSystem fs;
    mlx4_loaded(fs, "-1");
    fs.file("/etc/modprobe.d/mlx4.conf", "options mlx4_core log_num_mgm_entry_size=-1\n");
    const auto r = run_mlx4(fs);
    CHECK(r.status == Status::pass);
    CHECK(r.message.find("no ConnectX-3 present to confirm DMFS on") != std::string::npos);
}

TEST_CASE("ConnectX-3 with DMFS reported by the device: ready for VMA") {
    FakeFileSystem fs;
    mlx4_loaded(fs, "-1");
    connectx3(fs, true);
    auto r = run_mlx4(fs, probe_returning(true));
    CHECK(r.status == Status::pass);
    CHECK(r.message == "device-managed flow steering active on mlx4_0: node ready for VMA");
    CHECK(r.entities[0].details["vma_ready"] == true);

    r = run_mlx4(fs, probe_returning(false));
    CHECK(r.status == Status::warn);
    CHECK(r.message.find("mlx4_0 does not report IBV_DEVICE_MANAGED_FLOW_STEERING") != std::string::npos);
    CHECK(r.message.find("not ready for VMA") != std::string::npos);

    r = run_mlx4(fs, probe_returning(std::nullopt));
    CHECK(r.status == Status::warn);
    CHECK(r.message.find("DMFS requested but not confirmable on mlx4_0") != std::string::npos);
}

TEST_CASE("B0 steering expected (10): pass, not ready for VMA") {
    FakeFileSystem fs;
    mlx4_loaded(fs, "10");
    connectx3(fs, true);
    const auto r = run_mlx4(fs, probe_returning(false), 10);
    CHECK(r.status == Status::pass);
    CHECK(r.message.find("not ready for VMA") != std::string::npos);
}

TEST_CASE("garbage values fail with the value named") {
    FakeFileSystem fs;
    mlx4_loaded(fs, "minus one");
    auto r = run_mlx4(fs);
    CHECK(r.status == Status::fail);
    CHECK(r.message == "unreadable value 'minus one' in /sys/module/mlx4_core/parameters/log_num_mgm_entry_size");
    mlx4_loaded(fs, "-1");
    fs.file("/etc/modprobe.d/mlx4.conf", "options mlx4_core log_num_mgm_entry_size=auto\n");
    r = run_mlx4(fs);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("'auto' in /etc/modprobe.d/mlx4.conf:1 is not an integer") != std::string::npos);
}
