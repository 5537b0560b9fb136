"""Running lab instances: up, down, status, ssh, push/pull, reset, console, capture, inventory.

An instance (env RDMA_LAB, default "default") lives in ~/.cache/rdma-deploy/run/<name>/:
state.json, vde.pid + vde.ctl/ (the data-segment switch), node<i>/{disk.qcow2 (overlay on the
cached base), qemu.pid, console.log, console.sock, monitor.sock, ssh_key.pub}.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zlib

from . import accel, image
from .common import (DISTROS, LAB_DIR, REPO_DIR, RUN, SSH_DIR, SSH_KEY, LabError, Ticker, log,
                     need_space, need_tools, pid_alive, pid_cmdline, read_pid, tail, tool)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
MAX_NODES = 8
DATA_NET = "10.77.0"


def instance_name():
    name = os.environ.get("RDMA_LAB", "") or "default"
    if not NAME_RE.match(name):
        raise LabError(f"RDMA_LAB={name!r}: use 1-24 characters of a-z 0-9 _ - "
                       f"(starting with a letter or digit)")
    return name


def inst_dir(name):
    return os.path.join(RUN, name)


def inventory_dir(name):
    if name == "default":
        return os.path.join(REPO_DIR, "inventory", "lab")
    return os.path.join(inst_dir(name), "inventory")


def load_state(name):
    try:
        with open(os.path.join(inst_dir(name), "state.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise LabError(f"corrupt lab state {inst_dir(name)}/state.json ({e}); run: lab down")


def save_state(name, st):
    p = os.path.join(inst_dir(name), "state.json")
    with open(p + ".tmp", "w") as f:
        json.dump(st, f, indent=1)
    os.replace(p + ".tmp", p)


def require_up(name):
    st = load_state(name)
    if st is None:
        raise LabError(f"lab instance {name!r} is not up (no {inst_dir(name)}/state.json); "
                       f"run: RDMA_LAB={name} lab/lab up")
    return st


def node_of(st, node):
    for n in st["nodes"]:
        if n["name"] == node:
            return n
    names = ", ".join(n["name"] for n in st["nodes"])
    raise LabError(f"no node {node!r} in lab {st['name']!r} (nodes: {names})")


# ---------------------------------------------------------------- ssh helpers
def ensure_ssh_key():
    if not os.path.exists(SSH_KEY):
        need_tools("ssh-keygen")
        os.makedirs(SSH_DIR, mode=0o700, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rdma-deploy-lab",
                        "-f", SSH_KEY], check=True)
        log(f"created lab SSH key {SSH_KEY}")
    return SSH_KEY


SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15"]


def ssh_cmd(n, extra=()):
    return (["ssh", "-i", SSH_KEY, "-p", str(n["ssh_port"])] + SSH_OPTS + list(extra)
            + ["root@127.0.0.1"])


def ssh_run(n, command, timeout=30, capture=True):
    try:
        p = subprocess.run(ssh_cmd(n, ["-o", "ConnectTimeout=5"]) + [command],
                           capture_output=capture, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        return p.returncode, (p.stdout or ""), (p.stderr or "")
    except subprocess.TimeoutExpired:
        return 124, "", "timeout"


# ---------------------------------------------------------------- processes
def _ours(pid, marker):
    return pid is not None and pid_alive(pid) and marker in pid_cmdline(pid)


def _scan(marker):
    """PIDs whose command line contains marker (finds QEMUs of a crashed `up` without pid files)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            if marker in pid_cmdline(int(d)):
                out.append(int(d))
    return out


def _stop(pid, what):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        if not pid_alive(pid):
            log(f"stopped {what} (pid {pid})")
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    log(f"killed {what} (pid {pid}, did not exit on SIGTERM)")


def qemu_marker(name, node):
    return f"rdma-lab-{name}-{node},"


def running_nodes(name, st):
    alive = {}
    for n in st["nodes"]:
        pid = read_pid(os.path.join(inst_dir(name), n["name"], "qemu.pid"))
        alive[n["name"]] = pid if _ours(pid, qemu_marker(name, n["name"])) else None
    return alive


# ---------------------------------------------------------------- ports
def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _ports_claimed_by_others(name):
    claimed = set()
    if os.path.isdir(RUN):
        for other in os.listdir(RUN):
            if other == name:
                continue
            try:
                with open(os.path.join(RUN, other, "state.json")) as f:
                    claimed |= {n["ssh_port"] for n in json.load(f)["nodes"]}
            except (OSError, ValueError, KeyError):
                pass
    return claimed


def alloc_ports(name, count):
    env_base = os.environ.get("LAB_SSH_PORT_BASE")
    if env_base:
        if not env_base.isdigit() or not 1024 <= int(env_base) <= 65000:
            raise LabError(f"LAB_SSH_PORT_BASE={env_base!r}: expected a port 1024..65000")
        base = int(env_base)
    else:
        base = 22000 + (zlib.crc32(name.encode()) % 1000) * 10
    claimed = _ports_claimed_by_others(name)
    ports = []
    p = base
    while len(ports) < count:
        if p > 65000:
            raise LabError("no free loopback TCP port found for SSH forwarding")
        if p not in claimed and _port_free(p):
            ports.append(p)
        elif env_base:
            raise LabError(f"port 127.0.0.1:{p} is taken (LAB_SSH_PORT_BASE={env_base}); "
                           f"choose another base or stop what listens there (ss -ltnp)")
        p += 1
    return ports


# ---------------------------------------------------------------- up
def up(nodes, distro, smp=None, mem=1024, timeout=None):
    name = instance_name()
    if distro not in DISTROS:
        raise LabError(f"--distro {distro!r}: expected one of {', '.join(DISTROS)}")
    if not 1 <= nodes <= MAX_NODES:
        raise LabError(f"--nodes {nodes}: expected 1..{MAX_NODES}")
    need_tools("qemu-system-x86_64", "qemu-img", "vde_switch", "ssh", "ssh-keygen")
    st = load_state(name)
    if st is not None:
        alive = running_nodes(name, st)
        if any(alive.values()):
            raise LabError(f"lab {name!r} is already up ({len(st['nodes'])} x {st['distro']}); "
                           f"use it, or run: RDMA_LAB={name} lab/lab down")
        log(f"lab {name!r}: state left by a crashed or killed lab; cleaning it first")
    down(quiet=True)
    need_space(RUN, 2, "node overlays")
    t_all = time.monotonic()
    base = image.ensure_image(distro)
    ensure_ssh_key()
    meta_kernel = None
    try:
        with open(base[:-len(".qcow2")] + ".json") as f:
            meta_kernel = json.load(f).get("kernel")
    except (OSError, ValueError):
        pass
    verdict = _accel_for(distro, base)
    if smp is None:
        smp = int(os.environ.get("LAB_SMP", "1"))
    if timeout is None:
        timeout = int(os.environ.get("LAB_BOOT_TIMEOUT", "600" if verdict["accel"] == "tcg" else "180"))
    d = inst_dir(name)
    os.makedirs(d, exist_ok=True)
    ports = alloc_ports(name, nodes)
    st = {"name": name, "distro": distro, "image": base, "kernel": meta_kernel,
          "accel": verdict["accel"], "accel_reason": verdict.get("reason", ""),
          "smp": smp, "mem": mem, "lab": os.path.join(LAB_DIR, "lab"),
          "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
          "nodes": []}
    for i in range(1, nodes + 1):
        st["nodes"].append({"name": f"node{i}", "index": i, "ssh_port": ports[i - 1],
                            "data_ip": f"{DATA_NET}.{10 + i}",
                            "mgmt_mac": f"52:54:00:12:00:{10 + i:02x}",
                            "data_mac": f"52:54:00:77:00:{10 + i:02x}",
                            "data_netdev": None})
    save_state(name, st)  # before starting anything: `down` can always clean up

    vdesock = os.path.join(d, "vde.ctl")
    log(f"lab {name!r}: starting the data-segment switch (vde_switch, {vdesock})")
    subprocess.run([tool("vde_switch"), "-s", vdesock, "-d", "-p", os.path.join(d, "vde.pid"),
                    "-m", "0700"], check=True, stdin=subprocess.DEVNULL)
    for _ in range(50):
        if os.path.exists(os.path.join(vdesock, "ctl")):
            break
        time.sleep(0.1)
    log(f"lab {name!r}: booting {nodes} {distro} node(s) via GRUB ({verdict['accel']}, "
        f"{smp} vCPU, {mem} MiB each; why {verdict['accel']}: "
        f"{verdict.get('reason', '').splitlines()[0][:150] if verdict.get('reason') else '?'})")
    for n in st["nodes"]:
        start_node(name, st, n, base, fresh=True)
    wait_all(name, st, timeout)
    write_inventory(name, st)
    save_state(name, st)
    log(f"lab {name!r} up in {time.monotonic() - t_all:.0f} s: "
        + ", ".join(f"{n['name']} ssh 127.0.0.1:{n['ssh_port']} data {n['data_ip']} "
                    f"({n['data_netdev']})" for n in st["nodes"]))
    log(f"inventory: {inventory_dir(name)}/hosts.yml")


def _accel_for(distro, base):
    forced = os.environ.get("LAB_ACCEL")
    if forced:
        if forced not in ("kvm", "tcg"):
            raise LabError(f"LAB_ACCEL={forced!r}: expected kvm or tcg")
        return {"accel": forced, "reason": "forced by LAB_ACCEL"}
    c = accel.cached()
    if c is not None:
        return c
    return {"accel": "tcg", "reason": "no cached KVM verdict (probed at image build); TCG is safe"}


def start_node(name, st, n, base, fresh):
    d = os.path.join(inst_dir(name), n["name"])
    os.makedirs(d, exist_ok=True)
    overlay = os.path.join(d, "disk.qcow2")
    if fresh:
        for fn in ("disk.qcow2", "console.log"):
            try:
                os.unlink(os.path.join(d, fn))
            except FileNotFoundError:
                pass
        subprocess.run([tool("qemu-img"), "create", "-q", "-f", "qcow2", "-F", "qcow2",
                        "-b", base, overlay], check=True)
    with open(SSH_KEY + ".pub") as f:
        pub = f.read().strip()
    keyf = os.path.join(d, "ssh_key.pub")
    with open(keyf, "w") as f:
        f.write(pub)
    fw = {"hostname": n["name"], "data_ip": n["data_ip"], "mgmt_mac": n["mgmt_mac"],
          "data_mac": n["data_mac"]}
    cmd = accel.qemu_base({"accel": st["accel"]}, mem=st["mem"], smp=st["smp"]) + [
        "-name", f"rdma-lab-{name}-{n['name']},process=rdma-lab-{name}-{n['name']}",
        "-daemonize", "-pidfile", os.path.join(d, "qemu.pid"),
        "-chardev", f"socket,id=ser0,path={d}/console.sock,server=on,wait=off,"
                    f"logfile={d}/console.log,logappend=on",
        "-serial", "chardev:ser0",
        "-monitor", f"unix:{d}/monitor.sock,server=on,wait=off",
        "-drive", f"file={overlay},format=qcow2,if=virtio,cache=unsafe",
        "-netdev", f"user,id=mgmt,hostfwd=tcp:127.0.0.1:{n['ssh_port']}-:22",
        "-device", f"virtio-net-pci,netdev=mgmt,mac={n['mgmt_mac']},addr=0x3",
        "-netdev", f"vde,id=data,sock={inst_dir(name)}/vde.ctl",
        "-device", f"virtio-net-pci,netdev=data,mac={n['data_mac']},addr=0x4",
        "-fw_cfg", f"name=opt/rdma-lab/ssh_key,file={keyf}",
    ] + sum((["-fw_cfg", f"name=opt/rdma-lab/{k},string={v}"] for k, v in fw.items()), [])
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        err = p.stderr.strip()
        hint = ""
        if "hostfwd" in err or "forwarding" in err:
            hint = f" (port 127.0.0.1:{n['ssh_port']} taken? see: ss -ltnp)"
        raise LabError(f"qemu failed to start {n['name']}{hint}: {err}")
    n["boot_started"] = time.time()


def wait_ssh(name, n, timeout, tick=None, label=""):
    """Wait until SSH on the node answers; on timeout raise with the console tail."""
    d = os.path.join(inst_dir(name), n["name"])
    t0 = time.monotonic()
    tick = tick or Ticker(15)
    while True:
        pid = read_pid(os.path.join(d, "qemu.pid"))
        if not _ours(pid, qemu_marker(name, n["name"])):
            raise LabError(f"{n['name']}: QEMU exited while booting; console tail "
                           f"({d}/console.log):\n{tail(os.path.join(d, 'console.log'))}")
        rc, _, _ = ssh_run(n, "true", timeout=20)
        if rc == 0:
            return time.monotonic() - t0
        el = time.monotonic() - t0
        if el > timeout:
            raise LabError(f"{n['name']} did not answer SSH on 127.0.0.1:{n['ssh_port']} within "
                           f"{timeout} s; console tail ({d}/console.log):\n"
                           f"{tail(os.path.join(d, 'console.log'))}")
        if tick.due():
            last = tail(os.path.join(d, "console.log"), 1).strip().lstrip("|").strip()
            log(f"{label}waiting for {n['name']} SSH on 127.0.0.1:{n['ssh_port']} "
                f"({el:.0f} s); console: {last[:100] or '(nothing yet)'}")
        time.sleep(2)


def wait_all(name, st, timeout):
    tick = Ticker(15)
    for n in st["nodes"]:
        secs = wait_ssh(name, n, timeout, tick)
        since = time.time() - n.get("boot_started", time.time())
        # Find the data NIC by MAC and check its address.
        probe = ("for d in /sys/class/net/*; do [ \"$(cat $d/address)\" = '%s' ] && "
                 "basename $d; done; ip -o -4 addr show" % n["data_mac"])
        rc, out, err = ssh_run(n, probe, timeout=30)
        lines = out.splitlines()
        netdev = lines[0].strip() if lines and " " not in lines[0] else None
        if not netdev:
            raise LabError(f"{n['name']}: no NIC with the data MAC {n['data_mac']} ({err.strip()})")
        if f"inet {n['data_ip']}/24" not in out:
            raise LabError(f"{n['name']}: data NIC {netdev} lacks {n['data_ip']}/24:\n{out}")
        n["data_netdev"] = netdev
        log(f"{n['name']} ready: SSH after {since:.0f} s from start, data NIC {netdev} "
            f"{n['data_ip']}/24")


# ---------------------------------------------------------------- inventory
def write_inventory(name, st):
    inv = inventory_dir(name)
    os.makedirs(inv, exist_ok=True)
    group = DISTROS[st["distro"]][1]
    netdevs = sorted({n["data_netdev"] for n in st["nodes"]})
    lines = [
        f"# Written by lab/lab up for lab instance {name!r} ({st['started']}); regenerated by",
        "# every `lab up` and removed by `lab down`. Do not edit: change lab/lablib/runtime.py.",
        "all:",
        "  children:",
        "    lab:",
        "      vars:",
        "        ansible_user: root",
        f"        ansible_ssh_private_key_file: {SSH_KEY}",
        "        ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        " -o LogLevel=ERROR'",
        "        ansible_python_interpreter: /usr/bin/python3",
        f"        rdma_softroce_netdevs: [{', '.join(netdevs)}]",
        "        # A kernel trial that hangs is reset like a BMC would (roles/rdma_kernel, docs/kernel-trial.md).",
        f"        rdma_kernel_reset_command: RDMA_LAB={name} {os.path.join(REPO_DIR, 'lab', 'lab')} reset"
        " {{ inventory_hostname }} --no-wait",
        "      children:",
        f"        {group}:",
        "          hosts:",
    ]
    for n in st["nodes"]:
        lines += [f"            {n['name']}:",
                  "              ansible_host: 127.0.0.1",
                  f"              ansible_port: {n['ssh_port']}",
                  f"              lab_data_ip: {n['data_ip']}"]
    with open(os.path.join(inv, "hosts.yml.tmp"), "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(os.path.join(inv, "hosts.yml.tmp"), os.path.join(inv, "hosts.yml"))
    if name != "default":
        gv = os.path.join(inv, "group_vars")
        target = os.path.join(REPO_DIR, "inventory", "lab", "group_vars")
        if os.path.islink(gv) or os.path.exists(gv):
            if os.path.islink(gv):
                os.unlink(gv)
        os.symlink(target, gv)


# ---------------------------------------------------------------- down
def down(quiet=False):
    name = instance_name()
    d = inst_dir(name)
    st = load_state(name) if os.path.exists(os.path.join(d, "state.json")) else None
    stopped = 0
    # QEMUs: by pid file, then by -name marker (a crashed `up` may not have written pid files).
    pids = set()
    if os.path.isdir(d):
        for sub in os.listdir(d):
            pid = read_pid(os.path.join(d, sub, "qemu.pid"))
            if _ours(pid, f"rdma-lab-{name}-{sub},"):
                pids.add(pid)
    pids |= set(_scan(f"-name rdma-lab-{name}-node"))
    for pid in sorted(pids):
        _stop(pid, f"QEMU {pid_cmdline(pid).split('-name ')[-1].split(',')[0]}")
        stopped += 1
    vpid = read_pid(os.path.join(d, "vde.pid"))
    if _ours(vpid, os.path.join(d, "vde.ctl")):
        _stop(vpid, "vde_switch")
        stopped += 1
    # Remove the instance's run files (overlays, sockets, pid files); keep console logs.
    if os.path.isdir(d):
        for sub in os.listdir(d):
            p = os.path.join(d, sub)
            if os.path.isdir(p) and sub.startswith("node"):
                for fn in os.listdir(p):
                    if not fn.endswith(".log"):
                        fp = os.path.join(p, fn)
                        shutil.rmtree(fp) if os.path.isdir(fp) else os.unlink(fp)
            elif sub in ("vde.ctl", "inventory") and os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            elif sub in ("state.json", "state.json.tmp", "vde.pid"):
                os.unlink(p)
    hosts = os.path.join(inventory_dir(name), "hosts.yml")
    if os.path.exists(hosts):
        os.unlink(hosts)
    if not quiet:
        if st is None and stopped == 0:
            log(f"lab {name!r}: nothing was running")
        else:
            log(f"lab {name!r} down ({stopped} process(es) stopped, overlays removed)")


# ---------------------------------------------------------------- status
def status():
    name = instance_name()
    st = load_state(name)
    if st is None:
        print(f"lab {name!r}: down")
        return 3
    alive = running_nodes(name, st)
    vpid = read_pid(os.path.join(inst_dir(name), "vde.pid"))
    vde_ok = _ours(vpid, os.path.join(inst_dir(name), "vde.ctl"))
    print(f"lab {name!r}: {len(st['nodes'])} x {st['distro']} (kernel {st.get('kernel')}), "
          f"accel {st['accel']}, started {st['started']}")
    print(f"  image      {st['image']}")
    print(f"  accel      {st['accel']}: {(st.get('accel_reason') or '').splitlines()[0][:150] if st.get('accel_reason') else ''}")
    print(f"  inventory  {inventory_dir(name)}/hosts.yml")
    print(f"  vde_switch {'running, pid %d' % vpid if vde_ok else 'NOT RUNNING'}")
    ok = vde_ok
    for n in st["nodes"]:
        pid = alive[n["name"]]
        if pid:
            rc, out, _ = ssh_run(n, "cat /proc/sys/kernel/random/boot_id; uptime -p", timeout=10)
            reach = ("ssh ok, " + out.splitlines()[-1]) if rc == 0 and out else "ssh NOT answering"
            ok = ok and rc == 0
        else:
            reach = "QEMU NOT RUNNING"
            ok = False
        print(f"  {n['name']:6} ssh 127.0.0.1:{n['ssh_port']}  data {n['data_ip']} "
              f"({n.get('data_netdev')})  {'pid %d' % pid if pid else ''}  {reach}")
    return 0 if ok else 1


# ---------------------------------------------------------------- per-node commands
def ssh(node, cmd):
    st = require_up(instance_name())
    n = node_of(st, node)
    if cmd:
        args = ssh_cmd(n) + list(cmd)
    else:
        args = ssh_cmd(n, ["-t"]) if sys.stdin.isatty() else ssh_cmd(n)
    os.execvp("ssh", args)


def copy(node, src, dest, direction):
    st = require_up(instance_name())
    n = node_of(st, node)
    base = ["scp", "-q", "-r", "-i", SSH_KEY, "-P", str(n["ssh_port"])] + SSH_OPTS
    if direction == "push":
        if not os.path.exists(src):
            raise LabError(f"push: no such local file or directory: {src}")
        args = base + [src, f"root@127.0.0.1:{dest}"]
    else:
        args = base + [f"root@127.0.0.1:{src}", dest]
    return subprocess.run(args).returncode


def monitor(name, node, command):
    path = os.path.join(inst_dir(name), node, "monitor.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
    except OSError as e:
        raise LabError(f"{node}: cannot reach the QEMU monitor at {path}: {e}")
    buf = b""
    try:
        while b"(qemu)" not in buf:
            buf += s.recv(4096)
        s.sendall(command.encode() + b"\n")
        buf = b""
        while buf.count(b"(qemu)") < 1:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    return buf.decode(errors="replace")


def reset(node, wait=True, timeout=None):
    name = instance_name()
    st = require_up(name)
    n = node_of(st, node)
    if not running_nodes(name, st)[node]:
        raise LabError(f"{node}: QEMU is not running; run: lab down && lab up")
    log(f"{node}: hard reset through the QEMU monitor (system_reset, no clean shutdown)")
    monitor(name, node, "system_reset")
    n["boot_started"] = time.time()
    if not wait:
        return
    if timeout is None:
        timeout = int(os.environ.get("LAB_BOOT_TIMEOUT", "600" if st["accel"] == "tcg" else "180"))
    time.sleep(2)
    secs = wait_ssh(name, n, timeout)
    log(f"{node}: back, SSH answered {secs + 2:.0f} s after the reset")


def console(node):
    name = instance_name()
    st = require_up(name)
    node_of(st, node)
    need_tools("socat")
    sock = os.path.join(inst_dir(name), node, "console.sock")
    log(f"{node}: serial console (root logs in without password); detach with Ctrl-]")
    os.execvp("socat", ["socat", "-,raw,echo=0,escape=0x1d", f"UNIX-CONNECT:{sock}"])


def capture(node, dest):
    st = require_up(instance_name())
    n = node_of(st, node)
    if os.path.exists(dest) and os.listdir(dest):
        raise LabError(f"capture: {dest} exists and is not empty; remove it or pick another DIR")
    script = os.path.join(LAB_DIR, "capture.py")
    if copy(node, script, "/tmp/lab-capture.py", "push") != 0:
        raise LabError(f"capture: could not copy {script} to {node}")
    rc, out, err = ssh_run(n, "/usr/bin/python3 /tmp/lab-capture.py /tmp/lab-capture", timeout=600)
    if rc != 0:
        raise LabError(f"capture on {node} failed (exit {rc}):\n{out}{err}")
    os.makedirs(dest, exist_ok=True)
    tarf = os.path.join(dest, ".capture.tar")
    if copy(node, "/tmp/lab-capture.tar", tarf, "pull") != 0:
        raise LabError(f"capture: could not fetch the tarball from {node}")
    subprocess.run(["tar", "-xf", tarf, "-C", dest], check=True)
    os.unlink(tarf)
    sys.stdout.write(out)
    log(f"captured {node} into {dest}")
