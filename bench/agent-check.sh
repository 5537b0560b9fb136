#!/usr/bin/env bash
# Benchmark: `rdma-agent check` (every check except latency) vs `ibv_devinfo -v` on one lab node:
# wall time and peak RSS per run, both from GNU time (`/usr/bin/time -f '%e %M'`, package `time`,
# installed on the node if missing; a python parent would inflate ru_maxrss with its own pages
# copied at fork), N runs each, alternated; prints medians and the ratio.
# Issue 2 target: check < 50 ms wall, < 10 MB peak RSS on a one-device node.
# Env: LAB (lab/lab), RDMA_LAB, NODE (node1), RUNS (10), AGENT (path on the node, default
# rdma-agent from PATH; push it first, e.g. tests/e2e/agent-device.sh does).
# Needs a running lab node with rxe0 (tests/e2e/agent-device.sh prepares one).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
LAB=${LAB:-$here/lab/lab}
export RDMA_LAB=${RDMA_LAB:-default}
NODE=${NODE:-node1}
RUNS=${RUNS:-10}
AGENT=${AGENT:-rdma-agent}
case "$RUNS" in ''|*[!0-9]*|0) echo "agent-check.sh: RUNS must be a positive integer, got '$RUNS'" >&2; exit 2 ;; esac
"$LAB" status >/dev/null 2>&1 || { echo "agent-check.sh: lab '$RDMA_LAB' is not up" >&2; exit 77; }
# GNU time measures; ibv_devinfo (ibverbs-utils) is the tool compared with: install what is missing.
# shellcheck disable=SC2016 # expanded by the node's shell
timeout 600 "$LAB" ssh "$NODE" 'pkgs=""; test -x /usr/bin/time || pkgs="time"; command -v ibv_devinfo >/dev/null || pkgs="$pkgs ibverbs-utils"; [ -z "$pkgs" ] || { echo "installing on the node:$pkgs"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >/dev/null || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >/dev/null; }; }'
echo "agent-check.sh: $RUNS runs each of '$AGENT check --only stack,devices,verbs,multicast,flow_steering,mlx4_steering' and 'ibv_devinfo -v' on $NODE ($RDMA_LAB)"
timeout 600 "$LAB" ssh "$NODE" /usr/bin/python3 - "$RUNS" "$AGENT" <<'PY'
import statistics, subprocess, sys, time
runs, agent = int(sys.argv[1]), sys.argv[2]
cmds = {
    "rdma-agent check": [agent, "check", "--format", "json", "--only",
                         "stack,devices,verbs,multicast,flow_steering,mlx4_steering"],
    "ibv_devinfo -v": ["ibv_devinfo", "-v"],
}
def one(cmd):
    # GNU time reports the command's own peak RSS (KiB) and elapsed seconds (10 ms resolution);
    # the wall time in ms is taken here around it (includes time's fork+exec, well under 1 ms).
    t = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", "/tmp/agent-check-time"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = (time.monotonic() - t) * 1000
    rss = int(open("/tmp/agent-check-time").read().split()[-1])
    return r.returncode, wall, rss
res = {k: [] for k in cmds}
for i in range(runs):
    for name, cmd in cmds.items():
        rc, wall, rss = one(cmd)
        if name == "rdma-agent check" and rc > 1:
            print("run %d: %s exited %d (fail/unknown): the node is not healthy" % (i + 1, name, rc))
        if name == "ibv_devinfo -v" and rc != 0:
            # a failed baseline (e.g. command not found) would make a meaningless ratio
            sys.exit("agent-check.sh: ibv_devinfo -v exited %d on run %d: no valid baseline" % (rc, i + 1))
        res[name].append((wall, rss))
    print("run %d/%d: check %.1f ms %d KiB | devinfo %.1f ms %d KiB" % (
        i + 1, runs, res["rdma-agent check"][-1][0], res["rdma-agent check"][-1][1],
        res["ibv_devinfo -v"][-1][0], res["ibv_devinfo -v"][-1][1]), flush=True)
print("%-18s %12s %12s %12s %14s" % ("command", "median ms", "min ms", "max ms", "peak RSS KiB"))
med = {}
for name, v in res.items():
    walls = [w for w, _ in v]
    med[name] = (statistics.median(walls), max(r for _, r in v))
    print("%-18s %12.1f %12.1f %12.1f %14d" % (name, med[name][0], min(walls), max(walls), med[name][1]))
a, d = med["rdma-agent check"], med["ibv_devinfo -v"]
print("ratio rdma-agent/ibv_devinfo: wall %.2fx, peak RSS %.2fx" % (a[0] / d[0], a[1] / d[1]))
print("targets: wall < 50 ms: %s; peak RSS < 10 MB: %s" % (
    "met" if a[0] < 50 else "NOT met (%.1f ms)" % a[0], "met" if a[1] < 10240 else "NOT met (%d KiB)" % a[1]))
PY
