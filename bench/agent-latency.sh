#!/usr/bin/env bash
# Benchmark: `rdma-agent latency` median vs perftest `ib_send_lat` t_typical on the same lab node,
# device, message size and iteration count (RC SEND, loopback on one node), alternated RUNS times;
# prints both per run, the medians over the runs and the ratio (issue 2 target: within 5%).
# ib_send_lat runs as two processes (server + client over 127.0.0.1, GID index of the RoCE v2
# IPv4 GID); rdma-agent runs one process with two QPs. Env: LAB, RDMA_LAB, NODE (node1),
# DEVICE (rxe0), GID_INDEX (1), SIZE (2), ITERS (1000), RUNS (5), AGENT (rdma-agent).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
LAB=${LAB:-$here/lab/lab}
export RDMA_LAB=${RDMA_LAB:-default}
NODE=${NODE:-node1}; DEVICE=${DEVICE:-rxe0}; GID_INDEX=${GID_INDEX:-1}
SIZE=${SIZE:-2}; ITERS=${ITERS:-1000}; RUNS=${RUNS:-5}; AGENT=${AGENT:-rdma-agent}
for v in GID_INDEX SIZE ITERS RUNS; do
  case "${!v}" in ''|*[!0-9]*) echo "agent-latency.sh: $v must be a non-negative integer, got '${!v}'" >&2; exit 2 ;; esac
done
"$LAB" status >/dev/null 2>&1 || { echo "agent-latency.sh: lab '$RDMA_LAB' is not up" >&2; exit 77; }
echo "agent-latency.sh: $NODE ($RDMA_LAB) device $DEVICE gid $GID_INDEX size $SIZE iters $ITERS, $RUNS alternated runs"
timeout 1200 "$LAB" ssh "$NODE" /usr/bin/python3 - "$DEVICE" "$GID_INDEX" "$SIZE" "$ITERS" "$RUNS" "$AGENT" <<'PY'
import json, statistics, subprocess, sys, time
dev, gid, size, iters, runs, agent = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
perf = ["ib_send_lat", "-d", dev, "-x", gid, "-s", size, "-n", iters]
def send_lat():
    srv = subprocess.Popen(perf, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(1.0)  # server listening on its TCP port (18515)
    cli = subprocess.run(perf + ["127.0.0.1"], capture_output=True, text=True, timeout=300)
    srv.wait(timeout=60)
    for line in cli.stdout.splitlines():
        f = line.split()
        # " #bytes #iterations t_min t_max t_typical t_avg t_stdev 99% 99.9%"
        if len(f) >= 9 and f[0] == size and f[1] == iters:
            return float(f[4]), float(f[7])
    raise SystemExit("ib_send_lat gave no result line:\n" + cli.stdout + cli.stderr)
def agent_lat():
    out = subprocess.run([agent, "latency", "--device", dev, "--gid-index", gid, "--size", size,
                          "--iters", iters, "--format", "json"], capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    return d["median_us"], d["p99_us"]
p, a = [], []
for i in range(runs):
    p.append(send_lat()); a.append(agent_lat())
    print("run %d/%d: ib_send_lat t_typical %7.2f us (99%% %8.2f) | rdma-agent median %7.2f us (p99 %8.2f)" % (
        i + 1, runs, p[-1][0], p[-1][1], a[-1][0], a[-1][1]), flush=True)
pm, am = statistics.median(x for x, _ in p), statistics.median(x for x, _ in a)
print("median over runs: ib_send_lat t_typical %.2f us, rdma-agent median %.2f us" % (pm, am))
print("ratio rdma-agent/ib_send_lat: %.3f (%+.1f%%); target within 5%%: %s" % (
    am / pm, (am / pm - 1) * 100, "met" if abs(am / pm - 1) <= 0.05 else "NOT met"))
PY
