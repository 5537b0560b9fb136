"""Paths, errors and small process helpers shared by the lab modules."""
import os
import shutil
import subprocess
import sys
import time

LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(LAB_DIR)
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "rdma-deploy")
IMAGES = os.path.join(CACHE, "images")
RUN = os.path.join(CACHE, "run")
SSH_DIR = os.path.join(CACHE, "ssh")
SSH_KEY = os.path.join(SSH_DIR, "id_ed25519")

DISTROS = {  # name -> (Debian release, inventory child group)
    "bookworm": ("12", "debian12"),
    "trixie": ("13", "debian13"),
    "bullseye": ("11", "debian11"),
}

# Debian package providing each host tool, for the "missing tool" error.
TOOL_PACKAGES = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "debootstrap": "debootstrap",
    "vde_switch": "vde2",
    "sfdisk": "fdisk",
    "mkfs.ext4": "e2fsprogs",
    "ssh": "openssh-client",
    "scp": "openssh-client",
    "ssh-keygen": "openssh-client",
    "socat": "socat",
}


class LabError(Exception):
    """An error for the user: printed as 'lab: error: ...', exit 1 (or .code)."""

    def __init__(self, msg, code=1):
        super().__init__(msg)
        self.code = code


def log(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def need_tools(*tools):
    missing = [t for t in tools if shutil.which(t) is None
               and not os.path.exists(os.path.join("/usr/sbin", t))]
    if missing:
        pkgs = sorted({TOOL_PACKAGES.get(t, t) for t in missing})
        raise LabError(f"missing host tool(s): {', '.join(missing)}; install with: "
                       f"apt-get install {' '.join(pkgs)} (or run: scripts/deps.sh lab)")


def tool(name):
    return shutil.which(name) or os.path.join("/usr/sbin", name)


def need_space(path, gib, what):
    os.makedirs(path, exist_ok=True)
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize / 2**30
    if free < gib:
        raise LabError(f"not enough disk space for {what}: {free:.1f} GiB free under {path}, "
                       f"need {gib} GiB")


def run(cmd, check=True, **kw):
    """Run a command, raising LabError naming it on failure."""
    p = subprocess.run(cmd, **kw)
    if check and p.returncode != 0:
        raise LabError(f"command failed (exit {p.returncode}): {' '.join(map(str, cmd))}")
    return p


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def pid_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def tail(path, n=25):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            lines = f.read().decode(errors="replace").replace("\r", "").splitlines()
    except OSError:
        return "(no console log)"
    lines = [l for l in lines if l.strip()]
    return "\n".join("    | " + l for l in lines[-n:])


class Ticker:
    """Prints a progress line at most every `every` seconds."""

    def __init__(self, every=15):
        self.every = every
        self.start = time.monotonic()
        self.last = self.start

    def elapsed(self):
        return time.monotonic() - self.start

    def due(self):
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            return True
        return False
