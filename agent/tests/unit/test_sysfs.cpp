#include <catch2/catch.hpp>

#include "rdma_agent/sysfs.hpp"

using namespace rdma_agent::sysfs;

TEST_CASE("port state lines as drivers/infiniband/core/sysfs.c writes them") {
    auto s = parse_numbered_state("4: ACTIVE\n");
    REQUIRE(s);
    CHECK(s->code == 4);
    CHECK(s->name == "ACTIVE");
    auto p = parse_numbered_state("3: Disabled\n");
    REQUIRE(p);
    CHECK(p->name == "Disabled");
    CHECK_FALSE(parse_numbered_state(""));
    CHECK_FALSE(parse_numbered_state("ACTIVE"));
    CHECK_FALSE(parse_numbered_state(": ACTIVE"));
    CHECK_FALSE(parse_numbered_state("4:"));
    CHECK_FALSE(parse_numbered_state("x: ACTIVE"));
    CHECK_FALSE(parse_numbered_state("999: ACTIVE"));
}

TEST_CASE("rates") {
    CHECK(parse_rate_gbps("100 Gb/sec (4X EDR)\n") == 100.0);
    CHECK(parse_rate_gbps("2.5 Gb/sec (1X SDR)") == 2.5);
    CHECK(parse_rate_gbps("56 Gb/sec (4X FDR)") == 56.0);
    CHECK_FALSE(parse_rate_gbps("fast"));
    CHECK_FALSE(parse_rate_gbps("100 Mb/sec"));
    CHECK_FALSE(parse_rate_gbps(".5 Gb/sec"));
    CHECK_FALSE(parse_rate_gbps("1.2.3 Gb/sec"));
    CHECK_FALSE(parse_rate_gbps(""));
}

TEST_CASE("integers and PCI ids") {
    CHECK(parse_int("-1\n") == -1);
    CHECK(parse_int(" 10 ") == 10);
    CHECK(parse_int("+6") == 6);
    CHECK_FALSE(parse_int("10x"));
    CHECK_FALSE(parse_int(""));
    CHECK_FALSE(parse_int("99999999999999999999999"));
    CHECK(parse_hex_id("0x15b3\n") == 0x15b3u);
    CHECK(parse_hex_id("0x1007") == 0x1007u);
    CHECK_FALSE(parse_hex_id("15b3"));
    CHECK_FALSE(parse_hex_id("0x"));
    CHECK_FALSE(parse_hex_id("0x123456"));
    CHECK_FALSE(parse_hex_id("0xzz"));
}

TEST_CASE("GIDs") {
    CHECK(gid_is_valid("fe80:0000:0000:0000:5054:00ff:fe12:3401\n"));
    CHECK_FALSE(gid_is_valid("fe80::1"));
    CHECK(gid_is_zero("0000:0000:0000:0000:0000:0000:0000:0000"));
    CHECK_FALSE(gid_is_zero("fe80:0000:0000:0000:5054:00ff:fe12:3401"));
    CHECK(gid_ipv4("0000:0000:0000:0000:0000:ffff:0a4d:000b") == std::string("10.77.0.11"));
    CHECK_FALSE(gid_ipv4("fe80:0000:0000:0000:5054:00ff:fe12:3401"));
    // raw bytes as the kernel's "%pI6" prints them (what the verbs GID source renders)
    const unsigned char raw[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x01};
    CHECK(gid_text(raw) == "fe80:0000:0000:0000:5054:00ff:fe12:3401");
    const unsigned char v4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x0a, 0x4d, 0x00, 0x0b};
    CHECK(gid_text(v4) == "0000:0000:0000:0000:0000:ffff:0a4d:000b");
    CHECK(gid_is_valid(gid_text(v4)));
}

TEST_CASE("/proc/modules and modules.dep") {
    const auto mods = parse_proc_modules("rdma_rxe 131072 0 - Live 0x0\nib_core 1 2 - Live 0x0\n\n");
    CHECK(mods == std::vector<std::string>{"rdma_rxe", "ib_core"});
    const std::string dep =
        "kernel/drivers/infiniband/core/ib_core.ko.xz: \n"
        "updates/dkms/mlx5_ib.ko: updates/dkms/ib_core.ko\n"
        "extra/mlnx-ofa_kernel/drivers/infiniband/core/ib_uverbs.ko.zst:\n"
        "kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_core.ko:\n";
    CHECK(module_path_in_dep(dep, "ib_core") == std::string("kernel/drivers/infiniband/core/ib_core.ko.xz"));
    CHECK(module_path_in_dep(dep, "mlx4-core") == std::string("kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_core.ko"));
    CHECK(module_path_in_dep(dep, "mlx5_ib") == std::string("updates/dkms/mlx5_ib.ko"));
    CHECK_FALSE(module_path_in_dep(dep, "rdma_cm"));
    // several names in one pass: same answers, in the order asked; the first line wins
    const auto paths = module_paths_in_dep(dep + "updates/ib_core.ko:\n", {"rdma_cm", "mlx4-core", "ib_core", "ib_uverbs"});
    REQUIRE(paths.size() == 4);
    CHECK_FALSE(paths[0]);
    CHECK(paths[1] == std::string("kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_core.ko"));
    CHECK(paths[2] == std::string("kernel/drivers/infiniband/core/ib_core.ko.xz"));
    CHECK(paths[3] == std::string("extra/mlnx-ofa_kernel/drivers/infiniband/core/ib_uverbs.ko.zst"));
    CHECK(module_paths_in_dep("", {"ib_core"}) == std::vector<std::optional<std::string>>{std::nullopt});
    CHECK_FALSE(module_path_in_dep("ib_core.ko\nnot a line\n:\n/ib_core:\n", "ib_core"));
    CHECK(module_origin("kernel/drivers/x.ko") == "kernel");
    CHECK(module_origin("updates/dkms/x.ko") == "updates/dkms");
    CHECK(module_origin("updates/x.ko") == "updates");
    CHECK(module_origin("extra/mlnx-ofa_kernel/x.ko") == "extra/mlnx-ofa_kernel");
    CHECK(module_origin("extra/x.ko") == "extra");
    CHECK(module_origin("foo/x.ko") == "other");
}

TEST_CASE("kernel driver to rdma-core provider") {
    CHECK(provider_for("mlx5_0", "mlx5_core") == "mlx5");
    CHECK(provider_for("mlx4_0", "mlx4_core") == "mlx4");
    CHECK(provider_for("rxe0", "") == "rxe");
    CHECK(provider_for("siw0", "") == "siw");
    CHECK(provider_for("foo0", "foo") == "");
}
