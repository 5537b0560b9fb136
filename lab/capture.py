#!/usr/bin/python3
"""Runs ON a lab node (pushed there by `lab capture NODE DIR`): copies what the agent reads into a
fixture tree STAGE/ and tars it to STAGE.tar. Symlinks stay symlinks (same targets); sysfs/proc
files are read with read() (sysfs sizes lie, so no tar/cp of /sys); unreadable ones are skipped.

Layout: sys/class/{infiniband,infiniband_verbs}/ + link targets under sys/devices/, sys/class/net/
<netdevs behind ports> (a few attributes), sys/module/<rdma modules>/{parameters,version,...},
sys/kernel/config/rdma_cm/<dev>/ports/*/default_roce_mode, proc/{modules,cmdline,
sys/kernel/osrelease}, etc/{modprobe.d,libibverbs.d,rdma}, lib/modules/<rel>/modules.dep (RDMA lines
only), usr/lib/x86_64-linux-gnu/{libibverbs.so*,librdmacm.so*} (links kept, files empty),
usr/lib/x86_64-linux-gnu/libibverbs/ and dev/infiniband/ (names only, empty files).
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile

STAGE = sys.argv[1] if len(sys.argv) > 1 else "/tmp/lab-capture"
MODULES = ["ib_core", "ib_uverbs", "rdma_rxe", "mlx4_core", "mlx4_ib", "mlx4_en", "mlx5_core",
           "mlx5_ib", "rdma_ucm", "rdma_cm", "ib_cm", "iw_cm", "siw"]
NET_ATTRS = ["address", "operstate", "mtu", "ifindex", "type", "carrier", "speed", "dev_id",
             "dev_port", "flags", "addr_len", "broadcast", "duplex"]
SKIP = {"power", "uevent"}
count = {"files": 0, "links": 0, "skipped": 0}


def dst(p):
    return STAGE + p


def copy_file(p):
    try:
        with open(p, "rb") as f:
            data = f.read()
    except OSError:
        count["skipped"] += 1
        return
    os.makedirs(os.path.dirname(dst(p)), exist_ok=True)
    with open(dst(p), "wb") as f:
        f.write(data)
    count["files"] += 1


def copy_link(p):
    os.makedirs(os.path.dirname(dst(p)), exist_ok=True)
    if not os.path.lexists(dst(p)):
        os.symlink(os.readlink(p), dst(p))
        count["links"] += 1


def copy_tree(top):
    """Copy top (following it if it is a link: the link is kept too), never following links below."""
    if not os.path.lexists(top):
        return
    if os.path.islink(top):
        copy_link(top)
        top = os.path.realpath(top)
    for dirpath, dirnames, filenames in os.walk(top):
        os.makedirs(dst(dirpath), exist_ok=True)
        for d in list(dirnames):
            p = os.path.join(dirpath, d)
            if d in SKIP:
                dirnames.remove(d)
            elif os.path.islink(p):
                copy_link(p)
        for fn in filenames:
            p = os.path.join(dirpath, fn)
            if fn in SKIP:
                continue
            if os.path.islink(p):
                copy_link(p)
            elif os.path.isfile(p):
                copy_file(p)


def copy_class(cls):
    if not os.path.isdir(cls):
        return
    os.makedirs(dst(cls), exist_ok=True)
    for e in sorted(os.listdir(cls)):
        p = os.path.join(cls, e)
        if os.path.islink(p):
            copy_tree(p)
        elif os.path.isfile(p):
            copy_file(p)


def read(p):
    try:
        with open(p) as f:
            return f.read().strip()
    except OSError:
        return ""


def main():
    subprocess.run(["rm", "-rf", STAGE, STAGE + ".tar"], check=True)
    os.makedirs(STAGE)
    copy_class("/sys/class/infiniband")
    copy_class("/sys/class/infiniband_verbs")
    for dev in glob.glob("/sys/class/infiniband/*/device"):  # PCI functions of real HCAs
        t = os.path.realpath(dev)
        for a in ["vendor", "device", "subsystem_vendor", "subsystem_device", "numa_node",
                  "class", "driver"]:
            p = os.path.join(t, a)
            if os.path.islink(p):
                copy_link(p)
            elif os.path.isfile(p):
                copy_file(p)
    netdevs = set()
    for p in glob.glob("/sys/class/infiniband/*/ports/*/gid_attrs/ndevs/*"):
        netdevs.add(read(p))
    for p in glob.glob("/sys/class/infiniband/*/parent"):
        netdevs.add(read(p))
    for p in glob.glob("/sys/class/infiniband/*/device/net/*"):
        netdevs.add(os.path.basename(p))
    for nd in sorted(n for n in netdevs if n):
        link = f"/sys/class/net/{nd}"
        if not os.path.lexists(link):
            continue
        copy_link(link)
        t = os.path.realpath(link)
        os.makedirs(dst(t), exist_ok=True)
        for a in NET_ATTRS:
            if os.path.isfile(os.path.join(t, a)):
                copy_file(os.path.join(t, a))
        if os.path.islink(os.path.join(t, "device")):
            copy_link(os.path.join(t, "device"))
    for m in MODULES:
        d = f"/sys/module/{m}"
        if not os.path.isdir(d):
            continue
        os.makedirs(dst(d), exist_ok=True)
        for f in ["version", "srcversion", "refcnt", "initstate"]:
            if os.path.isfile(os.path.join(d, f)):
                copy_file(os.path.join(d, f))
        if os.path.isdir(os.path.join(d, "parameters")):
            os.makedirs(dst(d + "/parameters"), exist_ok=True)
            for f in sorted(os.listdir(os.path.join(d, "parameters"))):
                copy_file(os.path.join(d, "parameters", f))
    # rdma_cm configfs: mkdir <dev> creates the per-port default_roce_mode entries; undone after.
    cfg = "/sys/kernel/config"
    if os.path.isdir("/sys/module/rdma_cm") and os.path.isdir(cfg):
        if not os.path.isdir(cfg + "/rdma_cm"):
            subprocess.run(["mount", "-t", "configfs", "none", cfg], stderr=subprocess.DEVNULL)
        if os.path.isdir(cfg + "/rdma_cm"):
            for dev in sorted(os.listdir("/sys/class/infiniband")) if os.path.isdir(
                    "/sys/class/infiniband") else []:
                d = f"{cfg}/rdma_cm/{dev}"
                made = False
                if not os.path.isdir(d):
                    try:
                        os.mkdir(d)
                        made = True
                    except OSError:
                        continue
                for f in glob.glob(d + "/ports/*/default_roce_*"):
                    copy_file(f)
                if made:
                    try:
                        os.rmdir(d)
                    except OSError:
                        pass
    for p in ["/proc/modules", "/proc/cmdline", "/proc/sys/kernel/osrelease"]:
        copy_file(p)
    for d in ["/etc/modprobe.d", "/etc/libibverbs.d", "/etc/rdma"]:
        if os.path.isdir(d):
            shutil.copytree(d, dst(d), symlinks=True)
    rel = os.uname().release
    dep = f"/lib/modules/{rel}/modules.dep"
    if os.path.isfile(dep):
        pat = re.compile(r"^[^:]*(drivers/infiniband/|drivers/net/ethernet/mellanox/|mlnx|"
                         r"/updates/|/extra/)[^:]*:")
        os.makedirs(dst(os.path.dirname(dep)), exist_ok=True)
        with open(dep) as f, open(dst(dep), "w") as out:
            out.writelines(l for l in f if pat.match(l))
    # The verbs libraries themselves: symlinks kept, regular files as empty files of the same name.
    lib = "/usr/lib/x86_64-linux-gnu"
    for pat in ["libibverbs.so*", "librdmacm.so*"]:
        for p in sorted(glob.glob(os.path.join(lib, pat))):
            os.makedirs(dst(lib), exist_ok=True)
            if os.path.islink(p):
                copy_link(p)
            elif os.path.isfile(p):
                open(dst(p), "w").close()
    for d in ["/usr/lib/x86_64-linux-gnu/libibverbs", "/dev/infiniband"]:
        if os.path.isdir(d):
            os.makedirs(dst(d), exist_ok=True)
            for e in sorted(os.listdir(d)):
                open(os.path.join(dst(d), e), "w").close()
    with tarfile.open(STAGE + ".tar", "w") as t:
        t.add(STAGE, arcname=".")
    print(f"capture: {count['files']} files, {count['links']} links ({count['skipped']} unreadable "
          f"skipped) from {os.uname().nodename} (kernel {rel})")


if __name__ == "__main__":
    main()
