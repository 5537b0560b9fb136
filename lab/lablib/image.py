"""Node images: debootstrap + recipe, a partitioned disk that boots through GRUB, cached by key.

Cache: ~/.cache/rdma-deploy/images/<distro>-<key>.qcow2 (+ .json), key = sha256 of the files in
lab/recipe/ + the distro + BUILDER_VERSION. The base is read-only; nodes boot on qcow2 overlays.
"""
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import time

from . import accel
from .common import (IMAGES, LAB_DIR, LabError, Ticker, log, need_space, need_tools, run,
                     tail, tool)

BUILDER_VERSION = "1"  # bump when this file changes how an image is made
RECIPE = os.path.join(LAB_DIR, "recipe")
DISK_GIB = 8
BUILD_BOOT_TIMEOUT = 900


def recipe_key(distro):
    h = hashlib.sha256()
    h.update(f"builder={BUILDER_VERSION}\ndistro={distro}\n".encode())
    for dirpath, dirnames, filenames in os.walk(RECIPE):
        dirnames.sort()
        for fn in sorted(filenames):
            p = os.path.join(dirpath, fn)
            h.update(os.path.relpath(p, RECIPE).encode() + b"\0")
            with open(p, "rb") as f:
                h.update(f.read())
            h.update(b"\0")
    return h.hexdigest()[:12]


def image_path(distro):
    return os.path.join(IMAGES, f"{distro}-{recipe_key(distro)}.qcow2")


def host_mirror():
    """The Debian archive URI the build machine's apt already uses (LAB_MIRROR overrides)."""
    if os.environ.get("LAB_MIRROR"):
        return os.environ["LAB_MIRROR"]
    uris = []
    for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(p) as f:
            for line in f:
                if line.startswith("URIs:"):
                    uris += line.split()[1:]
    for p in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(p) as f:
                for line in f:
                    w = line.split()
                    if w and w[0] == "deb":
                        uris += [x for x in w[1:] if "://" in x][:1]
        except OSError:
            pass
    for u in uris:
        if "security" not in u and "/debian" in u:
            return u.rstrip("/")
    raise LabError("cannot find the Debian archive in /etc/apt/sources*; set LAB_MIRROR=<uri>")


def ensure_image(distro, rebuild=False):
    """Return the path of the cached base image, building it (under a lock) if needed."""
    path = image_path(distro)
    os.makedirs(IMAGES, exist_ok=True)
    if os.path.exists(path) and not rebuild:
        return path
    lock_path = os.path.join(IMAGES, f".lock-{distro}")
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another lab process building the {distro} image (lock {lock_path})")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(path) and not rebuild:
            return path
        build(distro, path)
    return path


def _log_step(msg, t0):
    log(f"image: [{time.monotonic() - t0:5.0f}s] {msg}")


def _clean_stale_builds():
    """Remove build dirs of dead builder processes (never one with a mount inside)."""
    with open("/proc/mounts") as f:
        mounted = [l.split()[1] for l in f]
    for d in glob.glob(os.path.join(IMAGES, "build-*-*-*")):
        try:
            pid = int(d.rsplit("-", 1)[1])
        except ValueError:
            continue
        if os.path.exists(f"/proc/{pid}"):
            continue
        if any(m == d or m.startswith(d + "/") for m in mounted):
            log(f"image: stale build dir {d} still has mounts; unmount them, then remove it")
            continue
        shutil.rmtree(d, ignore_errors=True)


def build(distro, path):
    if os.geteuid() != 0:
        raise LabError(f"building the {distro} image needs root (debootstrap, chroot, mount); "
                       f"run once as root: lab/lab image --distro {distro}")
    _clean_stale_builds()
    need_tools("debootstrap", "qemu-system-x86_64", "qemu-img", "sfdisk", "mkfs.ext4")
    need_space(IMAGES, 6, f"building the {distro} image")
    mirror = host_mirror()
    key = recipe_key(distro)
    work = os.path.join(IMAGES, f"build-{distro}-{key}-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    root = os.path.join(work, "root")
    blog = os.path.join(work, "build.log")
    t0 = time.monotonic()
    log(f"image: building {distro} (key {key}) from {mirror}; log {blog}; "
        f"this takes several minutes")
    ok = False
    try:
        pkgs = []
        with open(os.path.join(RECIPE, "packages")) as f:
            pkgs = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        debs = os.path.join(IMAGES, "debs", distro)
        os.makedirs(debs, exist_ok=True)
        _log_step(f"debootstrap --variant=minbase {distro} ({len(pkgs)} extra packages)", t0)
        _logged([tool("debootstrap"), "--variant=minbase", f"--include={','.join(pkgs)}",
                 f"--cache-dir={debs}", distro, root, mirror], blog, t0, "debootstrap")
        _log_step("configuring the root tree (chroot: apt lists, GRUB defaults, lab units)", t0)
        shutil.copytree(RECIPE, os.path.join(root, "tmp", "lab-recipe"))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C")
        # Mount /proc, /sys and /dev (bind) during the chroot step, always unmounted.
        mounts = []
        try:
            for src, dst, args in (("proc", "proc", ["-t", "proc"]),
                                   ("sysfs", "sys", ["-t", "sysfs"]),
                                   ("/dev", "dev", ["--bind"])):
                tgt = os.path.join(root, dst)
                run(["mount"] + args + [src, tgt])
                mounts.append(tgt)
            shutil.copy("/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
            _logged(["chroot", root, "/bin/sh", "/tmp/lab-recipe/configure.sh", distro, mirror],
                    blog, t0, "configure.sh", env=env)
        finally:
            for m in reversed(mounts):
                subprocess.run(["umount", "-l", m])
        shutil.rmtree(os.path.join(root, "tmp", "lab-recipe"))
        with open(os.path.join(root, "etc", "resolv.conf"), "w"):
            pass
        kernels = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
        initrds = sorted(glob.glob(os.path.join(root, "boot", "initrd.img-*")))
        if not kernels or not initrds:
            raise LabError(f"image build: no kernel/initrd in {root}/boot (see {blog})")
        kernel = os.path.join(work, "vmlinuz")
        initrd = os.path.join(work, "initrd.img")
        shutil.copy(kernels[-1], kernel)
        shutil.copy(initrds[-1], initrd)
        krel = os.path.basename(kernels[-1])[len("vmlinuz-"):]

        _log_step(f"making the disk: MBR, one ext4 partition (LABEL=labroot, {DISK_GIB} GiB sparse)", t0)
        disk = os.path.join(work, "disk.raw")
        with open(disk, "wb") as f:
            f.truncate(DISK_GIB * 2**30 + 2**20)
        _logged([tool("sfdisk"), "-q", disk], blog, t0, "sfdisk",
                input=b"label: dos\nstart=2048, type=83, bootable\n")
        # The file system goes straight into the partition (offset 1 MiB): no copy of 8 GiB.
        _logged([tool("mkfs.ext4"), "-q", "-F", "-L", "labroot", "-E", f"offset={2**20}",
                 "-d", root, disk, f"{DISK_GIB * 2**20}k"], blog, t0, "mkfs.ext4")
        shutil.rmtree(root)

        verdict = accel.choose(kernel, initrd)
        _log_step(f"first boot ({verdict['accel']}, -kernel {krel}): grub-install /dev/vda, "
                  f"update-grub, power off", t0)
        con = os.path.join(work, "firstboot-console.log")
        cmd = accel.qemu_base(verdict, mem=1024, smp=2) + [
            "-no-reboot", "-nic", "none", "-serial", f"file:{con}",
            "-kernel", kernel, "-initrd", initrd,
            "-append", "root=LABEL=labroot rw console=ttyS0,115200n8 panic=-1",
            "-drive", f"file={disk},format=raw,if=virtio,cache=unsafe",
        ]
        p = subprocess.Popen(cmd, stdout=open(blog, "ab"), stderr=subprocess.STDOUT)
        tick = Ticker(20)
        while p.poll() is None:
            if tick.elapsed() > BUILD_BOOT_TIMEOUT:
                p.kill()
                p.wait()
                raise LabError(f"image build: first boot did not power off within "
                               f"{BUILD_BOOT_TIMEOUT} s; console tail:\n{tail(con)}")
            if tick.due():
                last = tail(con, 1).strip() or "(no output yet)"
                _log_step(f"first boot running, waiting for power-off; console: {last[:110]}", t0)
            time.sleep(1)
        with open(con, "rb") as f:
            text = f.read().decode(errors="replace")
        if "lab-firstboot: OK" not in text:
            raise LabError(f"image build: GRUB install in the first boot failed (exit "
                           f"{p.returncode}); console tail:\n{tail(con)}")
        _log_step("converting to qcow2", t0)
        tmp = path + ".tmp"
        _logged([tool("qemu-img"), "convert", "-O", "qcow2", disk, tmp], blog, t0, "qemu-img")
        os.chmod(tmp, 0o444)
        meta = {"distro": distro, "key": key, "kernel": krel, "mirror": mirror,
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "build_seconds": round(time.monotonic() - t0)}
        with open(path[:-len(".qcow2")] + ".json", "w") as f:
            json.dump(meta, f, indent=1)
        os.replace(tmp, path)
        ok = True
        _log_step(f"done: {path} ({os.path.getsize(path) / 2**20:.0f} MiB, kernel {krel})", t0)
    finally:
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            # Keep the log, drop the big files.
            for fn in ("disk.raw", "part.img"):
                try:
                    os.unlink(os.path.join(work, fn))
                except OSError:
                    pass
            log(f"image: build failed; log kept in {blog}")
    return path


def _logged(cmd, blog, t0, what, input=None, env=None):
    with open(blog, "ab") as f:
        f.write(f"\n### {' '.join(cmd)}\n".encode())
        f.flush()
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                             stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
        if input is not None:
            p.stdin.write(input)
            p.stdin.close()
        tick = Ticker(30)
        while p.poll() is None:
            if tick.due():
                _log_step(f"{what} still running ({_last_line(blog)[:100]})", t0)
            time.sleep(0.5)
    if p.returncode != 0:
        raise LabError(f"image build: {what} failed (exit {p.returncode}); log tail:\n{tail(blog)}")


def _last_line(path):
    return tail(path, 1).strip().lstrip("| ").strip()
