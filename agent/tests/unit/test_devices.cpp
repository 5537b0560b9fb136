#include <catch2/catch.hpp>

#include <map>

#include "node_builder.hpp"
#include "rdma_agent/sysfs.hpp"
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

// ------------------------------------------------------------------------------------------
// The GID table is read once per run (it is the bulk of the sysfs reads: 1024 slots on rxe,
// docs/BENCHMARKS.md), and not at all when a faster GID source (verbs) answers.

namespace {

// Counts every read of the FileSystem it wraps, per path.
class CountingFileSystem final : public FileSystem {
public:
    explicit CountingFileSystem(const FileSystem& inner) : inner_(inner) {}
    std::optional<std::string> read(const std::string& path) const override {
        ++reads[path];
        return inner_.read(path);
    }
    std::vector<std::string> list(const std::string& dir) const override { return inner_.list(dir); }
    std::optional<std::string> readlink(const std::string& path) const override { return inner_.readlink(path); }
    bool exists(const std::string& path) const override { return inner_.exists(path); }

    // Reads of paths containing `part`, and the largest count of any one such path.
    std::pair<int, int> count(const std::string& part) const {
        int total = 0, most = 0;
        for (const auto& [p, n] : reads)
            if (p.find(part) != std::string::npos) total += n, most = std::max(most, n);
        return {total, most};
    }
    mutable std::map<std::string, int> reads;

private:
    const FileSystem& inner_;
};

// rxe0 as the kernel shows it: a 1024-slot GID table, slots 0 and 1 in use, the rest zero.
void rxe_with_full_gid_table(FakeFileSystem& fs) {
    rxe_device(fs);
    for (int i = 2; i < 1024; ++i)
        fs.file("/sys/class/infiniband/rxe0/ports/1/gids/" + std::to_string(i), "0000:0000:0000:0000:0000:0000:0000:0000\n");
}

struct FixedGidSource final : sysfs::GidSource {
    std::optional<std::vector<sysfs::Port::Gid>> answer;
    int calls = 0;
    std::optional<std::vector<sysfs::Port::Gid>> port_gids(const std::string&, int) override {
        ++calls;
        return answer;
    }
};

}  // namespace

TEST_CASE("a check run (stack then devices) reads each GID table slot once; stack reads none") {
    FakeFileSystem inner;
    inbox_stack(inner);
    rxe_with_full_gid_table(inner);
    CountingFileSystem fs(inner);
    const Config cfg;
    auto stack = make_stack_check()->run(Context{cfg, fs});
    CHECK(stack.status == Status::pass);
    CHECK(fs.count("/ports/").first == 0);  // no port file at all: driver and provider only

    auto devices = make_devices_check()->run(Context{cfg, fs});
    INFO(devices.message);
    CHECK(devices.status == Status::pass);
    const auto [gid_reads, gid_most] = fs.count("/ports/1/gids/");
    CHECK(gid_reads == 1024);
    CHECK(gid_most == 1);
    // the attributes are read only for the slots in use (0 and 1), once each
    CHECK(fs.count("/gid_attrs/").first == 4);
    CHECK(fs.count("/gid_attrs/").second == 1);
}

TEST_CASE("with a GID source the devices check reads no GID file and reports the same") {
    FakeFileSystem inner;
    inbox_stack(inner);
    rxe_with_full_gid_table(inner);
    const Config cfg;
    CountingFileSystem plain(inner);
    const auto from_sysfs = make_devices_check()->run(Context{cfg, plain});
    REQUIRE(from_sysfs.status == Status::pass);

    FixedGidSource src;
    src.answer = std::vector<sysfs::Port::Gid>{{0, "fe80:0000:0000:0000:5054:00ff:fe12:3401", "IB/RoCE v1", "ens4"},
                                               {1, "0000:0000:0000:0000:0000:ffff:0a4d:000b", "RoCE v2", "ens4"}};
    CountingFileSystem fs(inner);
    Context ctx{cfg, fs, &src};
    const auto from_source = make_devices_check()->run(ctx);
    CHECK(src.calls == 1);
    CHECK(fs.count("/gids/").first == 0);
    CHECK(fs.count("/gid_attrs/").first == 0);
    CHECK(from_source.status == from_sysfs.status);
    CHECK(from_source.message == from_sysfs.message);
    REQUIRE(from_source.entities.size() == from_sysfs.entities.size());
    CHECK(from_source.entities[0].message == from_sysfs.entities[0].message);
    CHECK(from_source.entities[0].details == from_sysfs.entities[0].details);

    // A source that cannot tell (nullopt) falls back to sysfs: same result, the files read.
    FixedGidSource none;
    CountingFileSystem fs2(inner);
    Context ctx2{cfg, fs2, &none};
    const auto fallback = make_devices_check()->run(ctx2);
    CHECK(none.calls == 1);
    CHECK(fs2.count("/ports/1/gids/").first == 1024);
    CHECK(fallback.entities[0].details == from_sysfs.entities[0].details);

    // And a source that answers differently is what the report shows (it is really used).
    src.answer = std::vector<sysfs::Port::Gid>{{0, "fe80:0000:0000:0000:5054:00ff:fe12:3401", "IB/RoCE v1", "ens4"}};
    const auto no_v2 = make_devices_check()->run(ctx);
    CHECK(no_v2.status == Status::fail);
    CHECK(no_v2.message.find("has no RoCE v2 GID (GIDs: 0:IB/RoCE v1)") != std::string::npos);
}
