#include <catch2/catch.hpp>

#include "fake_fs.hpp"
#include "rdma_agent/modprobe.hpp"

using namespace rdma_agent;
using namespace rdma_agent::modprobe;
using rdma_agent::test::FakeFileSystem;

TEST_CASE("split_params follows the kernel's next_arg") {
    CHECK(split_params(" =ttyS0 =").empty());  // found by fuzz_modprobe: no empty names
    const auto p = split_params("a=1  b=\"x y\" flag \"c=3\"\n");
    REQUIRE(p.size() == 4);
    CHECK(p[0] == std::make_pair(std::string("a"), std::string("1")));
    CHECK(p[1] == std::make_pair(std::string("b"), std::string("x y")));
    CHECK(p[2] == std::make_pair(std::string("flag"), std::string("")));
    CHECK(p[3] == std::make_pair(std::string("c"), std::string("3")));
}

TEST_CASE("options: last wins, continuation, comments, - and _ alike") {
    std::vector<ParsedFile> files = {
        {"/etc/modprobe.d/a.conf",
         "# options mlx4_core log_num_mgm_entry_size=7\n"
         "options mlx4-core log_num_mgm_entry_size=10 debug_level=1\n"
         "options mlx4_core \\\n  log-num-mgm-entry-size=-1\n"
         "options mlx4_en inline_thold=0\n"},
        {"/etc/modprobe.d/b.conf", "  # indented comment\nblacklist mlx4_core\n"},
    };
    const auto o = options_for(files, "mlx4_core");
    REQUIRE(o.count("log_num_mgm_entry_size"));
    CHECK(o.at("log_num_mgm_entry_size").value == "-1");
    CHECK(o.at("log_num_mgm_entry_size").file == "/etc/modprobe.d/a.conf");
    CHECK(o.at("log_num_mgm_entry_size").line == 3);
    CHECK(o.at("debug_level").value == "1");
    CHECK(o.count("inline_thold") == 0);
}

TEST_CASE("files: /etc hides /lib by name, order by basename, only *.conf") {
    FakeFileSystem fs;
    fs.file("/lib/modprobe.d/mlx4.conf", "options mlx4_core log_num_mgm_entry_size=8\n");
    fs.file("/etc/modprobe.d/mlx4.conf", "options mlx4_core log_num_mgm_entry_size=9\n");
    fs.file("/lib/modprobe.d/zz.conf", "options mlx4_core log_num_mgm_entry_size=11\n");
    fs.file("/run/modprobe.d/aa.conf", "options mlx4_core log_num_mgm_entry_size=12\n");
    fs.file("/etc/modprobe.d/zzz.conf.dpkg-old", "options mlx4_core log_num_mgm_entry_size=7\n");
    fs.file("/etc/modprobe.d/.hidden.conf", "options mlx4_core log_num_mgm_entry_size=7\n");
    const auto files = collect_files(fs);
    REQUIRE(files.size() == 3);
    CHECK(files[0].path == "/run/modprobe.d/aa.conf");
    CHECK(files[1].path == "/etc/modprobe.d/mlx4.conf");
    CHECK(files[2].path == "/lib/modprobe.d/zz.conf");
    const auto v = configured_value(fs, "mlx4_core", "log_num_mgm_entry_size");
    REQUIRE(v);
    CHECK(v->value == "11");  // zz.conf sorts last
    CHECK(v->file == "/lib/modprobe.d/zz.conf");
}

TEST_CASE("kernel command line comes before the files") {
    FakeFileSystem fs;
    fs.file("/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 mlx4_core.log_num_mgm_entry_size=-1 quiet\n");
    auto v = configured_value(fs, "mlx4_core", "log_num_mgm_entry_size");
    REQUIRE(v);
    CHECK(v->value == "-1");
    CHECK(v->file == "/proc/cmdline");
    fs.file("/etc/modprobe.d/x.conf", "options mlx4_core log_num_mgm_entry_size=10\n");
    v = configured_value(fs, "mlx4_core", "log_num_mgm_entry_size");
    REQUIRE(v);
    CHECK(v->value == "10");
    CHECK(cmdline_value("mlx4-core.log-num-mgm-entry-size=7", "mlx4_core", "log_num_mgm_entry_size") == std::string("7"));
    CHECK_FALSE(configured_value(FakeFileSystem{}, "mlx4_core", "log_num_mgm_entry_size"));
}
