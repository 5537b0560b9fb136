#!/usr/bin/python3
"""Writes the hand-made fixture trees agent/tests/fixtures/hand-*/ (node images: sys/ proc/ etc/
lib/ usr/ dev/ run/). Run on purpose only; the trees are committed, with a README.md each that
cites where every file's format and content come from. Usage: make-hand-fixtures.py [OUTDIR]"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "fixtures")
REL = "6.1.0-27-amd64"


class Tree:
    def __init__(self, name):
        self.root = os.path.join(OUT, name)
        if os.path.exists(self.root):
            shutil.rmtree(self.root)
        os.makedirs(self.root)

    def file(self, path, content=""):
        p = os.path.join(self.root, path.lstrip("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(content)

    def link(self, path, target):
        p = os.path.join(self.root, path.lstrip("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.symlink(target, p)

    def readme(self, text):
        self.file("README.md", text)


def inbox_stack(t, providers, modules_extra=(), origin="kernel/drivers/infiniband", rdma_core="44.0"):
    t.file("/proc/sys/kernel/osrelease", REL + "\n")
    t.file("/proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-%s root=/dev/vda1 ro console=ttyS0\n" % REL)
    mods = ["rdma_ucm", "rdma_cm", "ib_uverbs", "ib_core"] + list(modules_extra)
    t.file("/proc/modules", "".join("%s 131072 0 - Live 0x0000000000000000\n" % m for m in mods))
    dep = ""
    for m in ["ib_core", "ib_uverbs", "rdma_cm", "rdma_ucm"]:
        dep += "%s/core/%s.ko: \n" % (origin, m)
    for m in modules_extra:
        d = {"mlx4_core": "kernel/drivers/net/ethernet/mellanox/mlx4", "mlx4_ib": "kernel/drivers/infiniband/hw/mlx4",
             "mlx5_core": "kernel/drivers/net/ethernet/mellanox/mlx5/core", "mlx5_ib": "kernel/drivers/infiniband/hw/mlx5",
             "rdma_rxe": "kernel/drivers/infiniband/sw/rxe"}.get(m, "kernel/drivers/misc")
        if origin.startswith("updates/dkms"):
            d = "updates/dkms"
        dep += "%s/%s.ko: \n" % (d, m)
    t.file("/lib/modules/%s/modules.dep" % REL, dep)
    for m in mods:
        t.file("/sys/module/%s/initstate" % m, "live\n")
    t.file("/usr/lib/x86_64-linux-gnu/libibverbs.so.1.14.%s" % rdma_core, "")
    for p in providers:
        t.file("/usr/lib/x86_64-linux-gnu/libibverbs/lib%s-rdmav34.so" % p, "")
        t.file("/etc/libibverbs.d/%s.driver" % p, "driver %s\n" % p)
    t.file("/sys/class/infiniband_verbs/abi_version", "6\n")


def pci_device(t, slot, vendor, device, driver):
    dev = "/sys/devices/pci0000:00/0000:00:02.0/%s" % slot
    t.file(dev + "/vendor", "0x%04x\n" % vendor)
    t.file(dev + "/device", "0x%04x\n" % device)
    t.link(dev + "/driver", "../../../../bus/pci/drivers/%s" % driver)
    t.link("/sys/bus/pci/devices/%s" % slot, "../../../devices/pci0000:00/0000:00:02.0/%s" % slot)
    t.link("/sys/bus/pci/drivers/%s/module" % driver, "../../../../module/%s" % driver)
    return dev


def ib_device(t, pci_dev, name, fw, board, hca, ports, uverbs, driver_abi):
    d = pci_dev + "/infiniband/" + name
    t.link("/sys/class/infiniband/" + name, "../../devices/pci0000:00/0000:00:02.0/%s/infiniband/%s" % (os.path.basename(pci_dev), name))
    t.link(d + "/device", "../../../" + os.path.basename(pci_dev))
    t.file(d + "/fw_ver", fw + "\n")
    t.file(d + "/board_id", board + "\n")
    t.file(d + "/hca_type", hca + "\n")
    t.file(d + "/node_type", "1: CA\n")
    t.file(d + "/node_guid", "248a:0703:0049:d4f0\n")
    for num, p in ports.items():
        pb = d + "/ports/%d" % num
        t.file(pb + "/state", p.get("state", "4: ACTIVE") + "\n")
        t.file(pb + "/phys_state", p.get("phys_state", "5: LinkUp") + "\n")
        t.file(pb + "/link_layer", p["link_layer"] + "\n")
        t.file(pb + "/rate", p["rate"] + "\n")
        for i, (gid, typ, ndev) in enumerate(p["gids"]):
            t.file(pb + "/gids/%d" % i, gid + "\n")
            if typ is not None:
                t.file(pb + "/gid_attrs/types/%d" % i, typ + "\n")
            if ndev is not None:
                t.file(pb + "/gid_attrs/ndevs/%d" % i, ndev + "\n")
        if "netdev" in p:
            t.file(pci_dev + "/net/%s/dev_port" % p["netdev"], "%d\n" % (num - 1))
    u = "/sys/devices/virtual/infiniband_verbs/uverbs%d" % uverbs
    t.file(u + "/ibdev", name + "\n")
    t.file(u + "/abi_version", "%s\n" % driver_abi)
    t.link("/sys/class/infiniband_verbs/uverbs%d" % uverbs, "../../devices/virtual/infiniband_verbs/uverbs%d" % uverbs)
    t.file("/dev/infiniband/uverbs%d" % uverbs, "")


ZERO = "0000:0000:0000:0000:0000:0000:0000:0000"
COMMON_README = """
Files and the sources that define their format:
- sys/class/infiniband/<dev>/ports/<n>/{state,phys_state,rate,link_layer,gids/N,gid_attrs/types/N,
  gid_attrs/ndevs/N}: Linux drivers/infiniband/core/sysfs.c (state_show "%d: %s", phys_state_show,
  rate_show "%d%s Gb/sec (%dX%s)", show_port_gid "%pI6", gid_attr types "IB/RoCE v1"/"RoCE v2").
- sys/class/infiniband/<dev>/{fw_ver,board_id,hca_type,node_type,node_guid}: same file, and the
  driver's own attributes (mlx4: drivers/infiniband/hw/mlx4/main.c; mlx5: hw/mlx5/main.c).
- sys/class/infiniband_verbs/abi_version and uverbsN/{ibdev,abi_version}: drivers/infiniband/core/
  uverbs_main.c (IB_USER_VERBS_ABI_VERSION 6; per device the driver's uverbs_abi_ver).
- sys/bus/pci/devices/<slot>/{vendor,device}: drivers/pci/pci-sysfs.c ("0x%04x").
- sys/module/<m>/parameters/<p>, initstate, version: kernel/params.c, kernel/module/sysfs.c.
- proc/modules: kernel/module/procfs.c; proc/sys/kernel/osrelease; proc/cmdline.
- lib/modules/<rel>/modules.dep: kmod depmod (paths relative to /lib/modules/<rel>).
- etc/modprobe.d/*.conf: kmod modprobe.d(5).
- etc/libibverbs.d/<p>.driver ("driver <p>") and usr/lib/x86_64-linux-gnu/libibverbs/lib<p>-rdmav34.so:
  rdma-core buildlib/rdma_functions.cmake rdma_provider() (providers built against private ABI 34
  in rdma-core 44); libibverbs.so.1.14.<ver>: rdma-core libibverbs/CMakeLists.txt (1.14.${PACKAGE_VERSION}).
- dev/infiniband/uverbsN: an empty regular file standing in for the character device.
"""


def cx3(name, value, modprobe, readme):
    t = Tree(name)
    inbox_stack(t, ["mlx4"], modules_extra=["mlx4_core", "mlx4_ib", "mlx4_en"])
    t.file("/sys/module/mlx4_core/parameters/log_num_mgm_entry_size", "%s\n" % value)
    if modprobe is not None:
        t.file("/etc/modprobe.d/mlx4.conf", modprobe)
    pci = pci_device(t, "0000:03:00.0", 0x15b3, 0x1007, "mlx4_core")
    ib_device(t, pci, "mlx4_0", "2.42.5000", "MT_1090111023", "MT4103", {
        1: {"link_layer": "InfiniBand", "rate": "56 Gb/sec (4X FDR)",
            "gids": [("fe80:0000:0000:0000:248a:0703:0049:d4f1", None, None)]},
        2: {"link_layer": "Ethernet", "rate": "40 Gb/sec (4X QDR)", "netdev": "enp3s0d1",
            "gids": [("fe80:0000:0000:0000:268a:07ff:fe49:d4f2", "IB/RoCE v1", "enp3s0d1"),
                     ("fe80:0000:0000:0000:268a:07ff:fe49:d4f2", "RoCE v2", "enp3s0d1"),
                     ("0000:0000:0000:0000:0000:ffff:0a4d:0015", "IB/RoCE v1", "enp3s0d1"),
                     ("0000:0000:0000:0000:0000:ffff:0a4d:0015", "RoCE v2", "enp3s0d1"),
                     (ZERO, None, None)]},
    }, 0, 4)
    t.readme(readme + COMMON_README)


cx3("hand-cx3-dmfs", "-1", "# written by rdma-deploy\noptions mlx4_core log_num_mgm_entry_size=-1\n", """# hand-cx3-dmfs: a ConnectX-3 Pro node with device-managed flow steering requested

Written by hand (agent/tests/e2e/make-hand-fixtures.py): no lab node has a ConnectX-3.
Debian 12 inbox stack (kernel 6.1, rdma-core 44.0), ConnectX-3 Pro (PCI 15b3:1007, listed in
mlx4_pci_table of drivers/net/ethernet/mellanox/mlx4/main.c) at 0000:03:00.0, mlx4_0 with port 1
InfiniBand FDR and port 2 Ethernet 40G (RoCE v1 and v2 GIDs, as mlx4 exposes both).
mlx4_core's log_num_mgm_entry_size is -1 in effect and in /etc/modprobe.d/mlx4.conf.
mlx4 driver ABI 4: MLX4_IB_UVERBS_ABI_VERSION in include/uapi/rdma/mlx4-abi.h.
Expected verdict: stack and devices pass; mlx4_steering warns that DMFS cannot be confirmed from a
fixture tree (the device capability IBV_DEVICE_MANAGED_FLOW_STEERING is only readable through verbs).
""")

cx3("hand-cx3-b0", "10", None, """# hand-cx3-b0: a ConnectX-3 Pro node on B0 steering (the upstream default)

Written by hand: as hand-cx3-dmfs, but log_num_mgm_entry_size is 10 in effect (the upstream
default MLX4_DEFAULT_MGM_LOG_ENTRY_SIZE, drivers/net/ethernet/mellanox/mlx4/main.c), i.e. B0
steering, and nothing configured under /etc/modprobe.d. With the default expected value -1 the
mlx4_steering check fails and says what to configure; not ready for VMA.
""")

# mlx5 RoCE node with a config file.
t = Tree("hand-mlx5-roce")
inbox_stack(t, ["mlx5"], modules_extra=["mlx5_core", "mlx5_ib"])
pci = pci_device(t, "0000:01:00.0", 0x15b3, 0x1017, "mlx5_core")
ib_device(t, pci, "mlx5_0", "16.35.2000", "MT_0000000080", "MT4119", {
    1: {"link_layer": "Ethernet", "rate": "100 Gb/sec (4X EDR)", "netdev": "enp1s0f0np0",
        "gids": [("fe80:0000:0000:0000:0e42:a1ff:fe5d:7c10", "IB/RoCE v1", "enp1s0f0np0"),
                 ("fe80:0000:0000:0000:0e42:a1ff:fe5d:7c10", "RoCE v2", "enp1s0f0np0"),
                 ("0000:0000:0000:0000:0000:ffff:0a4d:000b", "IB/RoCE v1", "enp1s0f0np0"),
                 ("0000:0000:0000:0000:0000:ffff:0a4d:000b", "RoCE v2", "enp1s0f0np0")]},
}, 0, 1)
t.file("/sys/kernel/config/rdma_cm/mlx5_0/ports/1/default_roce_mode", "RoCE v2\n")
t.file("/etc/rdma-agent/agent.yaml", """schema_version: 1
stack: {expected: inbox, version: "44"}
devices:
  roce_mode: RoCE v2
  expected:
    - name: mlx5_0
      ports: [1]
      link_layer: Ethernet
      rate_gbps: {min: 25, max: 100}
mlx4_steering: {expected: -1}
""")
t.readme("""# hand-mlx5-roce: a ConnectX-5 RoCE node (inbox stack)

Written by hand: ConnectX-5 (PCI 15b3:1017, mlx5_core pci table in
drivers/net/ethernet/mellanox/mlx5/core/main.c), mlx5_0 port 1 Ethernet 100G, netdev enp1s0f0np0
(device/net/<if>/dev_port 0, net/core/net-sysfs.c), RoCE v1+v2 GIDs, rdma_cm configfs
default_roce_mode "RoCE v2" (drivers/infiniband/core/cma_configfs.c). mlx5 driver ABI 1
(MLX5_IB_UVERBS_ABI_VERSION, include/uapi/rdma/mlx5-abi.h). etc/rdma-agent/agent.yaml expects it.
Expected verdict: stack, devices pass; mlx4_steering skips (no mlx4 module or hardware).
""" + COMMON_README)

# MLNX_OFED node: modules from updates/dkms, ofed_info present, InfiniBand HDR.
t = Tree("hand-mofed")
inbox_stack(t, ["mlx5"], modules_extra=["mlx5_core", "mlx5_ib"], origin="updates/dkms", rdma_core="2310.0")
for m in ["ib_core", "ib_uverbs", "rdma_cm", "rdma_ucm", "mlx5_core", "mlx5_ib"]:
    t.file("/sys/module/%s/version" % m, "23.10-1.1.9\n")
    t.file("/sys/module/%s/taint" % m, "OE\n")
t.file("/usr/bin/ofed_info", """#!/bin/bash
if [ "X$1" == "X-s" ]; then echo MLNX_OFED_LINUX-23.10-1.1.9.0:; exit 0; fi
if [ "X$1" == "X-n" ]; then echo 23.10-1.1.9.0; exit 0; fi
cat << EOF
MLNX_OFED_LINUX-23.10-1.1.9.0 (OFED-23.10-1.1.9):
EOF
""")
pci = pci_device(t, "0000:41:00.0", 0x15b3, 0x101b, "mlx5_core")
ib_device(t, pci, "mlx5_0", "20.39.1002", "MT_0000000223", "MT4123", {
    1: {"link_layer": "InfiniBand", "rate": "200 Gb/sec (4X HDR)",
        "gids": [("fe80:0000:0000:0000:b83f:d203:00a7:12c4", None, None)]},
}, 0, 1)
t.file("/etc/rdma-agent/agent.yaml", """schema_version: 1
stack: {expected: mofed, version: "23.10"}
devices:
  expected:
    - {name: mlx5_0, link_layer: InfiniBand, rate_gbps: {min: 200}}
""")
t.readme("""# hand-mofed: an MLNX_OFED 23.10 node with a ConnectX-6 on InfiniBand HDR

Written by hand: MLNX_OFED installs /usr/bin/ofed_info, a shell script that prints its version
for -s ("MLNX_OFED_LINUX-23.10-1.1.9.0:", the form NVIDIA's MLNX_OFED documentation shows); its
kernel modules come from DKMS on Debian/Ubuntu, under /lib/modules/<rel>/updates/dkms/, and set
MODULE_VERSION (sys/module/<m>/version) and the out-of-tree taint (taint "OE", kernel/module/main.c
module_flags_taint). The libibverbs file name follows rdma-core's 1.14.<PACKAGE_VERSION>; the
"2310.0" release number is illustrative of MLNX_OFED's rdma-core 2310mlnx build, not copied from one.
ConnectX-6 (15b3:101b) port 1 InfiniBand HDR 200G.
Expected verdict: stack passes as mofed 23.10; devices pass.
""" + COMMON_README)

# Provider ABI mismatch: mlx5 driver ABI 2 against rdma-core's mlx5 provider (1..1).
t = Tree("hand-abi-mismatch")
inbox_stack(t, ["mlx5"], modules_extra=["mlx5_core", "mlx5_ib"])
pci = pci_device(t, "0000:01:00.0", 0x15b3, 0x1017, "mlx5_core")
ib_device(t, pci, "mlx5_0", "16.35.2000", "MT_0000000080", "MT4119", {
    1: {"link_layer": "Ethernet", "rate": "25 Gb/sec (1X EDR)", "netdev": "enp1s0f0np0",
        "gids": [("fe80:0000:0000:0000:0e42:a1ff:fe5d:7c10", "IB/RoCE v1", "enp1s0f0np0"),
                 ("fe80:0000:0000:0000:0e42:a1ff:fe5d:7c10", "RoCE v2", "enp1s0f0np0")]},
}, 0, 2)
t.readme("""# hand-abi-mismatch: kernel driver ABI the provider does not accept

Written by hand (no lab node can produce it): mlx5_0's uverbs driver ABI reads 2, while rdma-core's
mlx5 provider matches only ABI 1 (MLX5_UVERBS_MIN_ABI_VERSION = MLX5_UVERBS_MAX_ABI_VERSION = 1,
providers/mlx5/mlx5-abi.h). libibverbs then skips the device with a warning and programs see
"No IB devices found" (libibverbs/init.c, try_driver()). This is what mixing a kernel and a user
space from different stacks looks like. Expected verdict: stack fails naming the ABI mismatch.
""" + COMMON_README)

# Garbage values everywhere the agent parses.
t = Tree("hand-garbage")
t.file("/proc/sys/kernel/osrelease", "\n")
t.file("/proc/modules", "ib_core\nmlx4_core 1 0 - Live\n\n\x01\x02 garbage line\n")
t.file("/sys/module/mlx4_core/parameters/log_num_mgm_entry_size", "minus one\n")
t.file("/etc/modprobe.d/mlx4.conf", "options mlx4_core log_num_mgm_entry_size=\"\\\noptions\n\\")
t.file("/sys/class/infiniband_verbs/abi_version", "six\n")
d = "/sys/class/infiniband/rxe0"
t.file(d + "/parent", "\n")
t.file(d + "/ports/1/state", "ACTIVE\n")
t.file(d + "/ports/1/phys_state", "5:\n")
t.file(d + "/ports/1/link_layer", "Ethernet\n")
t.file(d + "/ports/1/rate", "fast\n")
t.file(d + "/ports/1/gids/0", "not-a-gid\n")
t.file(d + "/ports/1/gids/x", "fe80:0000:0000:0000:0000:0000:0000:0001\n")
t.file(d + "/ports/notaport/state", "4: ACTIVE\n")
t.file("/sys/class/infiniband_verbs/uverbs0/ibdev", "rxe0\n")
t.file("/sys/class/infiniband_verbs/uverbs0/abi_version", "1x\n")
t.file("/sys/bus/pci/devices/0000:00:01.0/vendor", "0x15b3 \n")
t.file("/sys/bus/pci/devices/0000:00:01.0/device", "0xzzzz\n")
t.readme("""# hand-garbage: malformed values in every file the agent parses

Written by hand to prove the agent reports, never crashes, on values that break the formats the
kernel defines (drivers/infiniband/core/sysfs.c state_show/rate_show/show_port_gid, uverbs_main.c
abi_version, kernel/module/procfs.c, kmod modprobe.d(5)): a state without its number, a phys_state
without a name, a rate without "Gb/sec", a GID that is not %pI6, a GID index that is not a number,
a port directory that is not a number, "six" as ABI, an empty kernel release, a half-quoted
modprobe option ending in a continuation at end of file, a /proc/modules line with control bytes,
and "minus one" as the mlx4 parameter.
Expected verdict: stack, devices and mlx4_steering fail, each naming the bad value or file.
""")
print("fixtures written under", os.path.abspath(OUT))
