"""ABI-guard tests (tests/abi-guard/run.sh): playbooks/abi-guard.yml against local-connection fake
hosts whose OS facts are overridden, with real binaries built here from agent/tests/abi's sources.
Every host is the control node itself; each host's outcome is read from the JSON callback."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.path.join(ROOT, "agent", "tests", "abi")
AGENT = os.environ.get("RDMA_ABI_GUARD_AGENT", os.path.join(ROOT, "build", "rdma-agent"))
DEVINFO = "/usr/bin/ibv_devinfo"


def skip(why):
    print(f"SKIP tests/abi-guard: {why}")
    sys.exit(77)


def facts(major, release):
    return {"distribution": "Debian", "distribution_major_version": str(major),
            "distribution_version": f"{major}.1", "distribution_release": release,
            "os_family": "Debian"}


def build(tmp):
    """The test programs: new_verbs (ibv_reg_dmabuf_mr@IBVERBS_1.12, newer than Debian 11) and
    inline_ctx (another stack's inline verbs header), both stripped."""
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    for name, src, extra in (("new_verbs", "new_verbs.c", []),
                             ("inline_ctx", "inline_ctx.c", ["-I", SRC])):
        out = os.path.join(bindir, name)
        subprocess.run(["gcc", "-O2", "-g0", *extra, "-o", out, os.path.join(SRC, src), "-libverbs"],
                       check=True)
        subprocess.run(["strip", out], check=True)
    return bindir


def main():
    if not (os.path.isfile(AGENT) and os.access(AGENT, os.X_OK)):
        skip(f"{AGENT} absent: run `make build` first")
    if shutil.which("gcc") is None or not os.path.exists("/usr/include/infiniband/verbs.h"):
        skip("gcc or libibverbs-dev (/usr/include/infiniband/verbs.h) absent")
    tmp = tempfile.mkdtemp(prefix="abi-guard-test-")
    try:
        return run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp):
    bindir = build(tmp)
    nv, ic = os.path.join(bindir, "new_verbs"), os.path.join(bindir, "inline_ctx")
    d11, d12 = facts(11, "bullseye"), facts(12, "bookworm")
    have_devinfo = os.path.exists(DEVINFO)
    d12_bins = [nv] + ([DEVINFO] if have_devinfo else [])
    hosts = {
        # target debian-11: new_verbs imports ibv_reg_dmabuf_mr@IBVERBS_1.12 -> stop
        "t_debian11": {"rdma_os_facts_override": d11, "rdma_protected_binaries": [bindir + "/new_*"]},
        # both in one glob, debian-11: stops, listing the finding and the other binary's unknown
        "t_mixed": {"rdma_os_facts_override": d11, "rdma_protected_binaries": [bindir + "/*"]},
        # target debian-12: new_verbs (and ibv_devinfo) compatible -> passes
        "t_debian12": {"rdma_os_facts_override": d12, "rdma_protected_binaries": d12_bins},
        # stripped inline-verbs binary: unknown -> warns by default, stops with unknown=stop
        "t_unknown_warn": {"rdma_os_facts_override": d12, "rdma_protected_binaries": [ic]},
        "t_unknown_stop": {"rdma_os_facts_override": d12, "rdma_protected_binaries": [ic],
                           "rdma_abi_guard_unknown": "stop"},
        # nothing to protect -> nothing fetched
        "t_empty": {"rdma_os_facts_override": d12},
        # a glob matching nothing -> a clear message, no fetch
        "t_nomatch": {"rdma_os_facts_override": d12,
                      "rdma_protected_binaries": [tmp + "/absent/*", tmp + "/absent-app"]},
        # a stack with no manifest: skipped, visibly
        "t_mofed": {"rdma_os_facts_override": d12, "rdma_stack": "mofed", "rdma_protected_binaries": [nv]},
        # an explicit manifest overrides the derived one (Debian 12 host, debian-11 manifest)
        "t_manifest": {"rdma_os_facts_override": d12, "rdma_protected_binaries": [nv],
                       "rdma_abi_guard_manifest": os.path.join(ROOT, "manifests", "debian-11.json")},
        "t_manifest_missing": {"rdma_os_facts_override": d12, "rdma_protected_binaries": [nv],
                               "rdma_abi_guard_manifest": tmp + "/no-such-manifest.json"},
        # bad input
        "t_badvar": {"rdma_os_facts_override": d12, "rdma_protected_binaries": [nv],
                     "rdma_abi_guard_unknown": "maybe"},
        "t_relative": {"rdma_os_facts_override": d12, "rdma_protected_binaries": ["bin/*"]},
        "t_noagent": {"rdma_os_facts_override": d12, "rdma_protected_binaries": [nv],
                      "rdma_abi_guard_agent": tmp + "/no-agent"},
    }
    inv = {"all": {"vars": {"ansible_connection": "local",
                            "ansible_python_interpreter": "/usr/bin/python3",
                            "rdma_abi_guard_agent": AGENT},
                   "hosts": hosts}}
    inv_file = os.path.join(tmp, "hosts.yml")
    with open(inv_file, "w") as f:
        json.dump(inv, f)
    scratch = os.path.join(tmp, "controller-tmp")
    os.makedirs(scratch)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", TMPDIR=scratch, ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_FORKS="4")
    t0 = time.monotonic()
    print(f"abi-guard: running playbooks/abi-guard.yml on {len(hosts)} local fake hosts...", flush=True)
    p = subprocess.run(["ansible-playbook", "-i", inv_file, "playbooks/abi-guard.yml"], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    print(f"abi-guard: playbook done in {time.monotonic() - t0:.1f} s (rc {p.returncode})", flush=True)
    try:
        out = json.loads(p.stdout[p.stdout.index("{"):])
    except ValueError:
        print(p.stdout[-3000:], p.stderr[-3000:])
        print("FAIL: no JSON from ansible-playbook")
        return 1

    per_host = {h: [] for h in hosts}   # (task name, result) in order
    for play in out["plays"]:
        for task in play["tasks"]:
            for h, r in task["hosts"].items():
                per_host.setdefault(h, []).append((task["task"]["name"], r))
    stats = out["stats"]
    if os.environ.get("ABI_GUARD_TEST_DEBUG"):
        print(p.stderr[-4000:]); open(os.environ["ABI_GUARD_TEST_DEBUG"], "w").write(json.dumps(per_host, indent=1))

    def text(h):
        return json.dumps([r.get("msg", "") for _, r in per_host[h]])

    def failed(h):
        return stats.get(h, {}).get("failures", 0) > 0

    def fetched(h):
        return [r for n, r in per_host[h]
                if r.get("action") == "ansible.builtin.fetch" and not r.get("skipped")]

    fails = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            fails.append(what)

    h = "t_debian11"
    check(failed(h) and "ibv_reg_dmabuf_mr@IBVERBS_1.12" in text(h) and "debian-11" in text(h)
          and nv in text(h) and "STOP" in json.dumps([n for n, _ in per_host[h]]),
          f"{h}: target debian-11 stops the host, naming {nv}, ibv_reg_dmabuf_mr@IBVERBS_1.12, debian-11")
    check(len(fetched(h)) == 1, f"{h}: the glob's one match was fetched")
    h = "t_mixed"
    check(failed(h) and "ibv_reg_dmabuf_mr@IBVERBS_1.12" in text(h) and "also unknown: " + ic in text(h)
          and "2 file(s) scanned" in text(h),
          f"{h}: one glob, 2 binaries on debian-11: stops with the finding and the unknown listed")
    h = "t_debian12"
    check(not failed(h) and f"{len(d12_bins)} compatible, 0 incompatible, 0 unknown" in text(h),
          f"{h}: target debian-12 passes ({len(d12_bins)} compatible: {', '.join(d12_bins)})")
    h = "t_unknown_warn"
    check(not failed(h) and "WARNING" in text(h) and "not proven" in text(h) and "DWARF" in text(h),
          f"{h}: stripped inline-verbs binary warns (unknown, missing DWARF evidence) by default")
    h = "t_unknown_stop"
    check(failed(h) and "rdma_abi_guard_unknown=stop" in text(h) and "DWARF" in text(h),
          f"{h}: the same stops with rdma_abi_guard_unknown=stop, listing the missing evidence")
    h = "t_empty"
    check(not failed(h) and "nothing fetched" in text(h) and not fetched(h),
          f"{h}: empty rdma_protected_binaries: nothing fetched, said so")
    h = "t_nomatch"
    check(not failed(h) and "no file matches" in text(h) and tmp + "/absent/*" in text(h)
          and tmp + "/absent-app" in text(h) and not fetched(h),
          f"{h}: globs matching nothing: a message naming them, nothing fetched")
    h = "t_mofed"
    check(not failed(h) and "SKIPPED" in text(h) and "rdma_stack=mofed" in text(h) and not fetched(h),
          f"{h}: target stack without a manifest: skipped with a visible message")
    h = "t_manifest"
    check(failed(h) and "ibv_reg_dmabuf_mr@IBVERBS_1.12" in text(h) and "debian-11" in text(h),
          f"{h}: rdma_abi_guard_manifest overrides the derived manifest")
    h = "t_manifest_missing"
    check(failed(h) and "no such file" in text(h) and not fetched(h),
          f"{h}: a named manifest that does not exist: clear error, nothing fetched")
    h = "t_badvar"
    check(failed(h) and "rdma_abi_guard_unknown" in text(h) and "maybe" in text(h) and not fetched(h),
          f"{h}: rdma_abi_guard_unknown=maybe refused before anything")
    h = "t_relative"
    check(failed(h) and "bad ABI guard variables" in text(h) and not fetched(h),
          f"{h}: a relative glob refused")
    h = "t_noagent"
    check(failed(h) and "make build" in text(h) and not fetched(h),
          f"{h}: missing agent: error naming `make build`, nothing fetched")
    left = os.listdir(scratch)
    check(not [d for d in left if d.startswith("rdma-abi-guard-")],
          f"control node temp dirs removed (left: {left})")
    changed = {h: s.get("changed", 0) for h, s in stats.items() if s.get("changed", 0)}
    check(not changed, f"no task reports a change on any host ({changed})")
    if fails:
        print(f"tests/abi-guard: {len(fails)} FAILED")
        return 1
    print("tests/abi-guard: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
