#!/usr/bin/env bash
# Benchmark: `rdma-agent check` (every check except latency) vs `ibv_devinfo -v` on one lab node:
# wall time and peak RSS per run, both from GNU time (`/usr/bin/time -f '%e %M'`, package `time`,
# installed on the node if missing; a python parent would inflate ru_maxrss with its own pages
# copied at fork), N runs each, alternated; prints medians and the ratio.
# Issue 2 target: check < 50 ms wall, < 10 MB peak RSS on a one-device node.
# Measured side by side, alternated, each run a fresh process:
#   rdma-agent check        every check except latency (RC traffic, multicast join: real verbs work)
#   rdma-agent files-only   --only stack,devices,mlx4_steering: what ibv_devinfo -v also does
#                           (device, ports, GID table), like for like
#   rdma-agent --version    the process floor (exec, dynamic libraries, static init)
#   ibv_devinfo -v          the tool compared with
# Env: LAB (lab/lab), RDMA_LAB, NODE (node1), RUNS (10), AGENT (path on the node, default
# rdma-agent from PATH; push it first, e.g. tests/e2e/agent-device.sh does), BEFORE (optional
# path of another agent binary on the node, measured the same way: before/after a change).
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
# The agent must start on the node (e.g. a shared library it links is missing there): say which.
# shellcheck disable=SC2016 # expanded by the node's shell
if ! out=$(timeout 120 "$LAB" ssh "$NODE" "$AGENT --version 2>&1"); then
  echo "agent-check.sh: $AGENT does not run on $NODE: $out" >&2
  echo "agent-check.sh: (the agent links libibverbs1, librdmacm1, libyaml-cpp0.7, libdw1, libelf1: install what is missing)" >&2
  exit 1
fi
BEFORE=${BEFORE:-}
echo "agent-check.sh: node load before: $(timeout 60 "$LAB" ssh "$NODE" cat /proc/loadavg); host load: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout 900 "$LAB" ssh "$NODE" /usr/bin/python3 - "$RUNS" "$AGENT" "${BEFORE:--}" <<'PY'
import statistics, subprocess, sys, time
runs, agent, before = int(sys.argv[1]), sys.argv[2], sys.argv[3]
before = "" if before == "-" else before  # ssh drops empty arguments: "-" is none
ALL = "stack,devices,verbs,multicast,flow_steering,mlx4_steering"
cmds = {
    "rdma-agent check": [agent, "check", "--format", "json", "--only", ALL],
    "agent files-only": [agent, "check", "--format", "json", "--only", "stack,devices,mlx4_steering"],
    "agent --version": [agent, "--version"],
    "ibv_devinfo -v": ["ibv_devinfo", "-v"],
}
if before:
    cmds["BEFORE check"] = [before, "check", "--format", "json", "--only", ALL]
    cmds["BEFORE files-only"] = [before, "check", "--format", "json", "--only", "stack,devices,mlx4_steering"]
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
        if name.endswith("check") and rc > 1:
            print("run %d: %s exited %d (fail/unknown): the node is not healthy" % (i + 1, name, rc))
        if name == "ibv_devinfo -v" and rc != 0:
            # a failed baseline (e.g. command not found) would make a meaningless ratio
            sys.exit("agent-check.sh: ibv_devinfo -v exited %d on run %d: no valid baseline" % (rc, i + 1))
        res[name].append((wall, rss))
    print("run %d/%d: " % (i + 1, runs) + " | ".join("%s %.1f ms %d KiB" % (n, v[-1][0], v[-1][1]) for n, v in res.items()), flush=True)
print("%-18s %12s %12s %12s %14s" % ("command", "median ms", "min ms", "max ms", "peak RSS KiB"))
med = {}
for name, v in res.items():
    walls = [w for w, _ in v]
    med[name] = (statistics.median(walls), max(r for _, r in v))
    print("%-18s %12.1f %12.1f %12.1f %14d" % (name, med[name][0], min(walls), max(walls), med[name][1]))
a, d = med["rdma-agent check"], med["ibv_devinfo -v"]
f, v = med["agent files-only"], med["agent --version"]
print("ratio rdma-agent check/ibv_devinfo -v: wall %.2fx, peak RSS %.2fx" % (a[0] / d[0], a[1] / d[1]))
print("ratio files-only/ibv_devinfo -v (like for like): wall %.2fx, peak RSS %.2fx" % (f[0] / d[0], f[1] / d[1]))
print("process floor (rdma-agent --version): %.1f ms = %.0f%% of the check" % (v[0], 100 * v[0] / a[0]))
if before:
    b = med["BEFORE check"]
    print("before/after: check %.1f -> %.1f ms (%.2fx), files-only %.1f -> %.1f ms" % (
        b[0], a[0], b[0] / a[0], med["BEFORE files-only"][0], f[0]))
print("targets: wall < 50 ms: %s; peak RSS < 10 MB: %s" % (
    "met" if a[0] < 50 else "NOT met (%.1f ms)" % a[0], "met" if a[1] < 10240 else "NOT met (%d KiB)" % a[1]))
PY
