#include <catch2/catch.hpp>

#include "node_builder.hpp"
#include "rdma_agent/system_checks.hpp"
#include "stack_info.hpp"

using namespace rdma_agent;
using namespace rdma_agent::test;

namespace {
CheckResult run_stack(const FileSystem& fs, Config cfg = {}) {
    auto c = make_stack_check();
    return c->run(Context{cfg, fs});
}
const Entity* find(const CheckResult& r, const std::string& name) {
    for (const auto& e : r.entities)
        if (e.name == name) return &e;
    return nullptr;
}
}  // namespace

TEST_CASE("inbox rxe node passes the stack check") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    const auto r = run_stack(fs);
    INFO(r.message);
    CHECK(r.status == Status::pass);
    CHECK(r.message == "inbox rdma-core 44.0 on kernel 6.1.0-27-amd64, 1 device(s) with provider and uverbs");
    REQUIRE(find(r, "rxe0"));
    CHECK(find(r, "rxe0")->details["provider_library"] == "/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so");
    CHECK(find(r, "module:ib_core")->details["origin"] == "kernel");
}

TEST_CASE("each missing layer fails and is named") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    SECTION("provider file") {
        FakeFileSystem g;
        inbox_stack(g, "mlx5");  // provider files for mlx5 only
        rxe_device(g);
        const auto r = run_stack(g);
        CHECK(r.status == Status::fail);
        CHECK(r.message.find("provider file /etc/libibverbs.d/rxe.driver missing") != std::string::npos);
        CHECK(r.message.find("provider library librxe-rdmav*.so missing") != std::string::npos);
    }
    SECTION("uverbs char device") {
        FakeFileSystem g;
        inbox_stack(g);
        rxe_device(g, "rxe0", 3);
        FakeFileSystem h;  // same but without /dev/infiniband/uverbs3
        inbox_stack(h);
        h.file("/sys/class/infiniband/rxe0/parent", "ens4\n");
        h.file("/sys/class/infiniband/rxe0/ports/1/state", "4: ACTIVE\n");
        h.file("/sys/class/infiniband_verbs/uverbs3/ibdev", "rxe0\n");
        const auto r = run_stack(h);
        CHECK(r.status == Status::fail);
        CHECK(r.message.find("/dev/infiniband/uverbs3 missing") != std::string::npos);
        CHECK(run_stack(g).status == Status::pass);
    }
    SECTION("kernel module") {
        fs.file("/proc/modules", "ib_core 1 0 - Live 0x0\nib_uverbs 1 0 - Live 0x0\nrdma_ucm 1 0 - Live 0x0\n");
        const auto r = run_stack(fs);
        CHECK(r.status == Status::fail);
        CHECK(r.message.find("kernel module rdma_cm is not loaded") != std::string::npos);
    }
    SECTION("global uverbs ABI out of range") {
        fs.file("/sys/class/infiniband_verbs/abi_version", "7\n");
        const auto r = run_stack(fs);
        CHECK(r.status == Status::fail);
        CHECK(r.message.find("kernel uverbs ABI 7 is outside what libibverbs accepts (3..6)") != std::string::npos);
    }
}

TEST_CASE("expected stack is compared") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    Config cfg;
    cfg.stack.expected = "mofed";
    auto r = run_stack(fs, cfg);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("expected the mofed stack, found the inbox stack") != std::string::npos);
    cfg.stack.expected = "inbox";
    cfg.stack.version = "44";
    CHECK(run_stack(fs, cfg).status == Status::pass);
    cfg.stack.version = "50";
    r = run_stack(fs, cfg);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("expected rdma-core version 50, found 44.0") != std::string::npos);
}

TEST_CASE("MLNX_OFED user space over inbox modules says binaries will break") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    fs.file("/usr/bin/ofed_info", "#!/bin/bash\nif [ \"$1\" = \"-s\" ]; then echo MLNX_OFED_LINUX-5.8-1.0.1.1:; exit 0; fi\n");
    const auto r = run_stack(fs);
    CHECK(r.status == Status::fail);
    CHECK(r.message.find("MLNX_OFED user space (MLNX_OFED_LINUX-5.8-1.0.1.1) runs on the inbox kernel modules") != std::string::npos);
}

TEST_CASE("a loaded driver module is reported with its origin (DKMS: updates/dkms)") {
    FakeFileSystem fs;
    inbox_stack(fs);
    rxe_device(fs);
    SECTION("driver not loaded: no entity") {
        CHECK_FALSE(find(run_stack(fs), "module:rdma_rxe"));
    }
    SECTION("inbox rdma_rxe from kernel/") {
        fs.file("/proc/modules", *fs.read("/proc/modules") + "rdma_rxe 135168 0 - Live 0x0\n");
        fs.file(std::string("/lib/modules/") + kRelease + "/modules.dep",
                *fs.read(std::string("/lib/modules/") + kRelease + "/modules.dep") +
                    "kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko: kernel/drivers/infiniband/core/ib_core.ko\n");
        const auto r = run_stack(fs);
        REQUIRE(find(r, "module:rdma_rxe"));
        CHECK(find(r, "module:rdma_rxe")->details["origin"] == "kernel");
        CHECK(r.status == Status::pass);
    }
    SECTION("DKMS rdma_rxe from updates/dkms with its version; the stack stays inbox") {
        fs.file("/proc/modules", *fs.read("/proc/modules") + "rdma_rxe 135168 0 - Live 0x0 (OE)\n");
        fs.file(std::string("/lib/modules/") + kRelease + "/modules.dep",
                *fs.read(std::string("/lib/modules/") + kRelease + "/modules.dep") +
                    "updates/dkms/rdma_rxe.ko: kernel/drivers/infiniband/core/ib_core.ko\n");
        fs.file("/sys/module/rdma_rxe/version", "6.1-rdma-deploy-rxe-lab.1\n");
        const auto r = run_stack(fs);
        INFO(r.message);
        const Entity* e = find(r, "module:rdma_rxe");
        REQUIRE(e);
        CHECK(e->status == Status::pass);
        CHECK(e->details["origin"] == "updates/dkms");
        CHECK(e->details["path"] == "updates/dkms/rdma_rxe.ko");
        CHECK(e->message == "rdma_rxe loaded from updates/dkms/ (version 6.1-rdma-deploy-rxe-lab.1)");
        CHECK(r.status == Status::pass);
        CHECK(find(r, "stack")->details["detected"] == "inbox");
    }
}

TEST_CASE("stack info helpers") {
    CHECK(checks::parse_ofed_version("echo MLNX_OFED_LINUX-4.9-7.1.0.0:") == std::string("MLNX_OFED_LINUX-4.9-7.1.0.0"));
    CHECK(checks::parse_ofed_version("echo OFED-internal-24.10-1.1.4:") == std::string("OFED-internal-24.10-1.1.4"));
    CHECK_FALSE(checks::parse_ofed_version("#!/bin/sh\n"));
    // The -s branch wins over versions elsewhere in the script (comments, component lists).
    CHECK(checks::parse_ofed_version("#!/bin/bash\n# upgraded from MLNX_OFED_LINUX-4.9-7.1.0.0\n"
                                     "if [ \"X$1\" == \"X-s\" ]; then echo MLNX_OFED_LINUX-24.10-1.1.4.0:; exit; fi\n"
                                     "cat << EOF\nMLNX_OFED_LINUX-24.10-1.1.4.0 (OFED-24.10-1.1.4):\n") ==
          std::string("MLNX_OFED_LINUX-24.10-1.1.4.0"));
    CHECK(checks::parse_ofed_version("case $1 in\n  -n) echo 5.8;;\n  -s) echo DOCA-OFED-2.9.1:;;\nesac\n# DOCA-OFED-1.0\n") ==
          std::string("DOCA-OFED-2.9.1"));
    CHECK(checks::rdma_core_version_from_soname("libibverbs.so.1.14.44.0") == std::string("44.0"));
    CHECK_FALSE(checks::rdma_core_version_from_soname("libibverbs.so.1"));
    CHECK(checks::parse_provider_lib("libmlx5-rdmav34.so") == std::make_pair(std::string("mlx5"), 34));
    CHECK_FALSE(checks::parse_provider_lib("libmlx5.so.1"));
}
