// Builds typical node states on a FakeFileSystem for the check tests.
#pragma once

#include <string>

#include "fake_fs.hpp"

namespace rdma_agent::test {

inline const char* const kRelease = "6.1.0-27-amd64";

// Inbox Debian 12 stack: modules from kernel/, rdma-core 44.0 with the rxe provider.
inline void inbox_stack(FakeFileSystem& fs, const std::string& provider = "rxe") {
    fs.file("/proc/sys/kernel/osrelease", std::string(kRelease) + "\n");
    fs.file("/proc/modules",
            "rdma_ucm 32768 0 - Live 0x0000000000000000\n"
            "rdma_cm 135168 1 rdma_ucm, Live 0x0000000000000000\n"
            "ib_uverbs 184320 2 rdma_ucm, Live 0x0000000000000000\n"
            "ib_core 458752 4 rdma_ucm,rdma_cm,ib_uverbs, Live 0x0000000000000000\n");
    fs.file(std::string("/lib/modules/") + kRelease + "/modules.dep",
            "kernel/drivers/infiniband/core/ib_core.ko: \n"
            "kernel/drivers/infiniband/core/ib_uverbs.ko: kernel/drivers/infiniband/core/ib_core.ko\n"
            "kernel/drivers/infiniband/core/rdma_cm.ko: kernel/drivers/infiniband/core/ib_core.ko\n"
            "kernel/drivers/infiniband/core/rdma_ucm.ko: kernel/drivers/infiniband/core/rdma_cm.ko\n");
    fs.file("/usr/lib/x86_64-linux-gnu/libibverbs.so.1.14.44.0", "");
    fs.file("/usr/lib/x86_64-linux-gnu/libibverbs/lib" + provider + "-rdmav34.so", "");
    fs.file("/etc/libibverbs.d/" + provider + ".driver", "driver " + provider + "\n");
    fs.file("/sys/class/infiniband_verbs/abi_version", "6\n");
}

// An rxe device on netdev ens4 with one ACTIVE Ethernet port and a RoCE v2 GID.
inline void rxe_device(FakeFileSystem& fs, const std::string& dev = "rxe0", int uverbs = 0) {
    const std::string b = "/sys/class/infiniband/" + dev;
    fs.file(b + "/parent", "ens4\n");
    fs.file(b + "/node_type", "1: CA\n");
    fs.file(b + "/ports/1/state", "4: ACTIVE\n");
    fs.file(b + "/ports/1/phys_state", "5: LinkUp\n");
    fs.file(b + "/ports/1/link_layer", "Ethernet\n");
    fs.file(b + "/ports/1/rate", "10 Gb/sec (1X QDR)\n");
    fs.file(b + "/ports/1/gids/0", "fe80:0000:0000:0000:5054:00ff:fe12:3401\n");
    fs.file(b + "/ports/1/gids/1", "0000:0000:0000:0000:0000:ffff:0a4d:000b\n");
    fs.file(b + "/ports/1/gids/2", "0000:0000:0000:0000:0000:0000:0000:0000\n");
    fs.file(b + "/ports/1/gid_attrs/types/0", "IB/RoCE v1\n");
    fs.file(b + "/ports/1/gid_attrs/types/1", "RoCE v2\n");
    fs.file(b + "/ports/1/gid_attrs/ndevs/0", "ens4\n");
    fs.file(b + "/ports/1/gid_attrs/ndevs/1", "ens4\n");
    const std::string u = "uverbs" + std::to_string(uverbs);
    fs.file("/sys/class/infiniband_verbs/" + u + "/ibdev", dev + "\n");
    fs.file("/sys/class/infiniband_verbs/" + u + "/abi_version", "2\n");  // rxe on 6.1 (lab node)
    fs.file("/dev/infiniband/" + u, "");
}

}  // namespace rdma_agent::test
