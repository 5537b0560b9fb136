"""KVM or TCG: probe once whether a stock Debian kernel boots under KVM here, cache the verdict.

On the project's build machines /dev/kvm exists but a stock kernel hangs under it: their KVM is PVM
(kvm_pvm, no VMX/SVM in the CPU), which boots only PVM-enabled guest kernels; that is recognised
without a boot. Elsewhere the probe boots the image's own kernel+initrd to the initramfs shell (break=premount) under KVM with a
timeout; if the shell prompt does not appear, TCG is used. LAB_ACCEL=kvm|tcg overrides.
Verdict cache: ~/.cache/rdma-deploy/accel.json, keyed by host kernel, QEMU version, guest kernel.
"""
import hashlib
import json
import os
import platform
import subprocess
import tempfile
import time

from .common import CACHE, LabError, log, tool

PROBE_TIMEOUT = 45
CACHE_FILE = os.path.join(CACHE, "accel.json")


def qemu_version():
    try:
        out = subprocess.run([tool("qemu-system-x86_64"), "--version"], capture_output=True,
                             text=True).stdout
        return out.splitlines()[0] if out else "unknown"
    except OSError:
        return "unknown"


def qemu_base(verdict, mem, smp):
    """The QEMU command line head for an accelerator verdict."""
    if verdict["accel"] == "kvm":
        acc = ["-accel", "kvm", "-cpu", "host"]
    else:
        acc = ["-accel", "tcg,thread=multi", "-cpu", "max"]
    return [tool("qemu-system-x86_64"), "-machine", "pc"] + acc + [
        "-m", str(mem), "-smp", str(smp), "-display", "none", "-vga", "none",
        "-device", "virtio-rng-pci"]


def _load():
    try:
        with open(CACHE_FILE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def cached():
    """The most recent cached verdict (for status), or None."""
    d = _load()
    if not d:
        return None
    return max(d.values(), key=lambda v: v.get("when", ""))


def choose(kernel, initrd):
    forced = os.environ.get("LAB_ACCEL")
    if forced:
        if forced not in ("kvm", "tcg"):
            raise LabError(f"LAB_ACCEL={forced!r}: expected kvm or tcg")
        return {"accel": forced, "reason": "forced by LAB_ACCEL"}
    with open(kernel, "rb") as f:
        kh = hashlib.sha256(f.read()).hexdigest()[:12]
    key = f"{platform.release()}|{qemu_version()}|{kh}"
    d = _load()
    if key in d:
        return d[key]
    verdict = probe(kernel, initrd)
    verdict["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    d[key] = verdict
    os.makedirs(CACHE, exist_ok=True)
    tmp = CACHE_FILE + f".{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(d, f, indent=1)
    os.replace(tmp, CACHE_FILE)
    log(f"accel: {verdict['accel']} ({verdict['reason']}); cached in {CACHE_FILE}")
    return verdict


def pvm_host(sys_module="/sys/module", cpuinfo="/proc/cpuinfo"):
    """True when this host's KVM is PVM (kvm_pvm, "Pagetable-based Virtual Machine": KVM without
    VMX/SVM, inside a VM that has none): it runs only guest kernels built for PVM
    (CONFIG_PVM_GUEST), so a stock distro kernel never gets past its early boot (seen here: the
    console stops after "Probing EDD" under every -cpu model)."""
    if not os.path.isdir(os.path.join(sys_module, "kvm_pvm")):
        return False
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return not ({"vmx", "svm"} & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return True


def probe(kernel, initrd):
    if not os.path.exists("/dev/kvm"):
        return {"accel": "tcg", "reason": "no /dev/kvm"}
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return {"accel": "tcg", "reason": "/dev/kvm not accessible (group kvm?)"}
    if pvm_host():
        return {"accel": "tcg",
                "reason": "/dev/kvm is PVM (module kvm_pvm; the CPU has no VMX/SVM): it boots only "
                          "guest kernels built for PVM, not a stock Debian kernel; TCG (LAB_ACCEL=kvm "
                          "overrides)"}
    log(f"accel: probing KVM: booting the guest kernel to the initramfs shell "
        f"(up to {PROBE_TIMEOUT} s; a hang means TCG)")
    with tempfile.TemporaryDirectory(prefix="lab-kvm-probe-") as td:
        con = os.path.join(td, "console.log")
        cmd = qemu_base({"accel": "kvm"}, mem=512, smp=1) + [
            "-no-reboot", "-nic", "none", "-serial", f"file:{con}",
            "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyS0,115200n8 break=premount panic=-1"]
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while time.monotonic() - t0 < PROBE_TIMEOUT:
                if p.poll() is not None:
                    err = p.stderr.read().decode(errors="replace").strip()
                    err = " | ".join(l for l in err.splitlines() if l.strip())
                    return {"accel": "tcg",
                            "reason": f"qemu -accel kvm exited {p.returncode} (falling back to "
                                      f"TCG): {err[:240]}"}
                try:
                    with open(con, "rb") as f:
                        if b"(initramfs)" in f.read():
                            secs = time.monotonic() - t0
                            return {"accel": "kvm",
                                    "reason": f"stock kernel reached the initramfs shell in "
                                              f"{secs:.0f} s under KVM"}
                except OSError:
                    pass
                time.sleep(0.5)
            return {"accel": "tcg",
                    "reason": f"stock kernel hung under KVM (no initramfs shell within "
                              f"{PROBE_TIMEOUT} s): falling back to TCG"}
        finally:
            if p.poll() is None:
                p.kill()
            p.wait()
