#include <catch2/catch.hpp>

#include "rdma_agent/rooted_filesystem.hpp"

using namespace rdma_agent;

TEST_CASE("node paths map onto injected roots") {
    RootedFileSystem fs(roots_under("/img/"));
    CHECK(fs.map("/sys/class/infiniband") == std::string("/img/sys/class/infiniband"));
    CHECK(fs.map("/proc") == std::string("/img/proc"));
    CHECK(fs.map("/run/modprobe.d/x.conf") == std::string("/img/run/modprobe.d/x.conf"));
    CHECK_FALSE(fs.map("/var/lib/dpkg/status"));
    CHECK_FALSE(fs.map("/system"));
    CHECK_FALSE(fs.map("/sys/../etc/shadow"));
}

TEST_CASE("reads, lists and symlinks of a fixture tree") {
    RootedFileSystem fs(roots_under(std::string(RDMA_AGENT_FIXTURES) + "/hand-mlx5-roce"));
    CHECK(fs.read("/proc/sys/kernel/osrelease").has_value());
    const auto devs = fs.list("/sys/class/infiniband");
    CHECK(devs == std::vector<std::string>{"mlx5_0"});
    const auto link = fs.readlink("/sys/class/infiniband/mlx5_0/device/driver");
    REQUIRE(link);
    CHECK(link->ends_with("/mlx5_core"));
    CHECK(fs.exists("/dev/infiniband/uverbs0"));
    CHECK_FALSE(fs.exists("/dev/infiniband/uverbs9"));
    CHECK_FALSE(fs.read("/sys/class/infiniband").has_value());  // a directory is not a file
    CHECK(fs.list("/sys/nonexistent").empty());
}
