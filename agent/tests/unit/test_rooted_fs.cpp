#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

TEST_CASE("read: whole content of small, empty and large files; FIFOs and devices are not read") {
    namespace stdfs = std::filesystem;
    const stdfs::path root = stdfs::temp_directory_path() / ("rdma-agent-rootedfs-" + std::to_string(::getpid()));
    stdfs::remove_all(root);
    stdfs::create_directories(root / "sys" / "x");
    stdfs::create_directories(root / "lib");
    stdfs::create_directories(root / "dev");
    auto write = [](const stdfs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; };
    write(root / "sys/x/small", "4: ACTIVE\n");
    write(root / "sys/x/empty", "");
    std::string big;  // bigger than every read chunk, with a NUL inside: read as is
    for (int i = 0; i < 300000; ++i) big += static_cast<char>('a' + i % 26);
    big[1000] = '\0';
    write(root / "lib/big", big);
    REQUIRE(::mkfifo((root / "dev/fifo").c_str(), 0600) == 0);
    RootedFileSystem fs(roots_under(root.string()));
    CHECK(fs.read("/sys/x/small") == std::string("4: ACTIVE\n"));
    CHECK(fs.read("/sys/x/empty") == std::string());
    const auto got = fs.read("/lib/big");
    REQUIRE(got);
    CHECK(got->size() == big.size());
    CHECK(*got == big);
    CHECK_FALSE(fs.read("/dev/fifo"));  // no writer: must neither block nor read
    CHECK_FALSE(fs.read("/sys/x/missing"));
    CHECK_FALSE(fs.read("/sys/x"));     // a directory
    stdfs::remove_all(root);
}
