#!/usr/bin/env bash
# Benchmark 4 (control-node part, no lab): what the control node itself pays per host. N hosts
# with ansible_connection=local (all of them this machine) run the deploy's real read-only front
# plays, playbooks/preflight.yml + playbooks/facts.yml (variable asserts, OS/disk/netdev/PCI probes,
# stack facts: ~60 tasks per host, most skipped), next to the facts-only baseline
# playbooks/bench-baseline.yml, for N in SIZES. Nothing on this machine changes (both are
# read-only). Then, at N=VARIANT_N, the settings that decide fan-out: forks and strategy.
# Per run: wall time, CPU time of ansible-playbook and every process under it (user+sys, from
# getrusage(RUSAGE_CHILDREN)), and per host. The CPU seconds are the robust figure on a shared host
# (they do not include waiting for the CPU); the wall time is what an operator waits.
# Env: SIZES ("10 50 200"), FORKS (20, ansible.cfg's), VARIANT_N (50), VARIANTS
# ("forks=5 forks=50 strategy=free"; empty: none), PLAYS (preflight+facts and baseline).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
SIZES=${SIZES:-10 50 200}
FORKS=${FORKS:-20}
VARIANT_N=${VARIANT_N:-50}
VARIANTS=${VARIANTS-forks=5 forks=50 strategy=free}
for n in $SIZES $FORKS $VARIANT_N; do
  case "$n" in ''|*[!0-9]*|0) echo "fleet-local.sh: SIZES, FORKS and VARIANT_N take positive integers, got '$n'" >&2; exit 2 ;; esac
done
for v in $VARIANTS; do
  case "$v" in forks=[1-9]*|strategy=linear|strategy=free|strategy=host_pinned) ;;
    *) echo "fleet-local.sh: VARIANTS entries are forks=N or strategy=linear|free|host_pinned, got '$v'" >&2; exit 2 ;; esac
done
command -v ansible-playbook >/dev/null || { echo "fleet-local.sh: ansible-playbook not found (scripts/deps.sh)" >&2; exit 2; }
work=$(mktemp -d /tmp/bench-fleet-local.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "fleet-local.sh: $(nproc) CPUs, host load $(cut -d' ' -f1-3 /proc/loadavg); $(ansible --version 2>/dev/null | sed -n 1p)"
echo "fleet-local.sh: sizes $SIZES at forks $FORKS; variants at N=$VARIANT_N: ${VARIANTS:-none}"
/usr/bin/python3 - "$work" "$FORKS" "$VARIANT_N" "$VARIANTS" "$SIZES" <<'PY'
import os, resource, subprocess, sys, time
work, forks, vn, variants = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
sizes = [int(x) for x in sys.argv[5].split()]
PLAYS = {
    "baseline (facts only)": ["playbooks/bench-baseline.yml"],
    "preflight+facts": ["playbooks/preflight.yml", "playbooks/facts.yml"],
}
def inventory(n):
    path = os.path.join(work, "hosts-%d.yml" % n)
    with open(path, "w") as f:
        f.write("all:\n  hosts:\n")
        for i in range(1, n + 1):
            f.write("    h%03d:\n" % i)
        f.write("  vars:\n    ansible_connection: local\n    ansible_python_interpreter: /usr/bin/python3\n")
    return path
def run(n, plays, forks, strategy=None):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORKS=str(forks))
    if strategy:
        env["ANSIBLE_STRATEGY"] = strategy
    log = os.path.join(work, "run.log")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t = time.monotonic()
    with open(log, "w") as out:
        rc = subprocess.call(["ansible-playbook", "-i", inventory(n)] + plays, stdout=out, stderr=subprocess.STDOUT, env=env)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = open(log).read()
    recap = [l for l in text.splitlines() if " : ok=" in l]
    bad = [l for l in recap if "failed=0" not in l or "unreachable=0" not in l]
    hosts = set(l.split()[0] for l in recap)  # one PLAY RECAP per playbook file
    if rc != 0 or len(hosts) != n or bad:
        print("fleet-local.sh: %s on %d hosts failed (exit %d, %d hosts in the recap, %d bad); log tail:" % (
            "+".join(plays), n, rc, len(hosts), len(bad)))
        print("\n".join(text.splitlines()[-25:]))
        sys.exit(1)
    return wall, cpu, load
rows = []
def show(label, n, name, f, s, r):
    wall, cpu, load = r
    rows.append((label, n, name, f, s, wall, cpu, load))
    print("  %-22s N=%-4d forks=%-3d %-7s wall %7.1f s (%6.3f s/host)  CPU %7.1f s (%6.3f s/host)  load %.1f" % (
        name, n, f, s, wall, wall / n, cpu, cpu / n, load), flush=True)
for n in sizes:
    print("== N=%d local hosts, forks %d" % (n, forks), flush=True)
    for name, plays in PLAYS.items():
        show("size", n, name, forks, "linear", run(n, plays, forks))
for v in variants:
    k, val = v.split("=")
    f = int(val) if k == "forks" else forks
    s = val if k == "strategy" else "linear"
    print("== variant %s at N=%d (preflight+facts)" % (v, vn), flush=True)
    show("variant", vn, "preflight+facts", f, s, run(vn, PLAYS["preflight+facts"], f, s if k == "strategy" else None))
print()
print("| N hosts | play | forks | strategy | wall s | wall s/host | CPU s | CPU s/host | host load |")
print("|---|---|---|---|---|---|---|---|---|")
for label, n, name, f, s, wall, cpu, load in rows:
    print("| %d | %s | %d | %s | %.1f | %.3f | %.1f | %.3f | %.1f |" % (n, name, f, s, wall, wall / n, cpu, cpu / n, load))
# Marginal cost per host between the smallest and largest size: the fixed start-up cost cancels.
sz = sorted(set(n for label, n, *_ in rows if label == "size"))
if len(sz) >= 2:
    lo, hi = sz[0], sz[-1]
    for name in PLAYS:
        a = [r for r in rows if r[0] == "size" and r[2] == name and r[1] == lo][0]
        b = [r for r in rows if r[0] == "size" and r[2] == name and r[1] == hi][0]
        print("marginal per host %s (N %d -> %d): wall %.3f s, CPU %.3f s" % (
            name, lo, hi, (b[5] - a[5]) / (hi - lo), (b[6] - a[6]) / (hi - lo)))
    for n in sz:
        a = [r for r in rows if r[0] == "size" and r[1] == n and r[2] == "preflight+facts"][0]
        b = [r for r in rows if r[0] == "size" and r[1] == n and r[2].startswith("baseline")][0]
        print("ratio preflight+facts / baseline at N=%d: wall %.2fx, CPU %.2fx" % (n, a[5] / b[5], a[6] / b[6]))
PY
