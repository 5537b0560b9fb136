#!/usr/bin/env bash
# The latency plot of docs/BENCHMARKS.md: ib_send_lat's distribution (the raw samples of one run,
# `ib_send_lat -H`: every iteration's half round trip) next to rdma-agent latency's on the same lab
# node, device, size and iteration count (RC SEND loopback; env LAB, RDMA_LAB as lab/with-lab
# exports them), as cumulative distributions on a log latency axis. gnuplot (Debian gnuplot-nox)
# draws it on the control node.
#
# Both give every sample: ib_send_lat -H its half round trips, `rdma-agent latency --samples FILE`
# the agent's (half round trips, in measuring order), so both appear as full curves, with each tool's
# summary figures as points (ib_send_lat's computed the agent's way: top 2 dropped).
# Env: NODE (node1), DEVICE (rxe0), GID_INDEX (1), SIZE (2), ITERS (1000), OUT (docs/latency-distribution.svg),
# DATA (docs/latency-distribution.dat: the samples and figures of the run plotted), PLOT_ONLY=1 (redraw
# OUT from DATA, no lab).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
NODE=${NODE:-node1}; DEVICE=${DEVICE:-rxe0}; GID_INDEX=${GID_INDEX:-1}; SIZE=${SIZE:-2}; ITERS=${ITERS:-1000}
OUT=${OUT:-docs/latency-distribution.svg}; DATA=${DATA:-docs/latency-distribution.dat}
for v in GID_INDEX SIZE ITERS; do
  case "${!v}" in ''|*[!0-9]*) echo "latency-plot.sh: $v must be a non-negative integer, got '${!v}'" >&2; exit 2 ;; esac
done
[ "$ITERS" -ge 5 ] || { echo "latency-plot.sh: ITERS must be at least 5" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "latency-plot.sh: gnuplot not found (apt-get install gnuplot-nox; scripts/deps.sh)" >&2; exit 2; }

if [ "${PLOT_ONLY:-0}" != 1 ]; then
  bench_need_lab latency-plot.sh
  echo "latency-plot.sh: $NODE ($RDMA_LAB) $DEVICE gid $GID_INDEX size $SIZE iters $ITERS; host load $(bench_load)"
  echo "latency-plot.sh: ib_send_lat -H (server + client on the node), then rdma-agent latency"
  raw=$(mktemp /tmp/bench-latplot.XXXXXX)
  trap 'rm -f "$raw"' EXIT
  # shellcheck disable=SC2016 # expanded by the node's shell
  timeout 600 "$LAB" ssh "$NODE" "D=$DEVICE X=$GID_INDEX S=$SIZE N=$ITERS bash -s" > "$raw" <<'NODE'
set -u
ib_send_lat -d "$D" -x "$X" -s "$S" -n "$N" > /tmp/latplot.srv 2>&1 &
sleep 1
ib_send_lat -d "$D" -x "$X" -s "$S" -n "$N" -H 127.0.0.1 > /tmp/latplot.cli 2>&1; rc=$?
wait
echo "@@PERF rc=$rc"; cat /tmp/latplot.cli
echo "@@AGENT"; rdma-agent latency --device "$D" --gid-index "$X" --size "$S" --iters "$N" --format json --samples /tmp/latplot.agent
echo "@@SAMPLES"; cat /tmp/latplot.agent
echo "@@NODE $(nproc) vCPU, $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource), load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
NODE
  date=$(date -u '+%F %H:%M')
  "$PY" - "$raw" "$DATA" "$SIZE" "$ITERS" "$date UTC, lab '$RDMA_LAB' $NODE (QEMU TCG), host load $(bench_load)" <<'PY'
import json, math, re, sys
raw, data, size, iters, where = sys.argv[1:6]
text = open(raw).read()
perf, agent = text.split("@@AGENT", 1)
agent, rest = agent.split("@@SAMPLES", 1)
asamp, node = rest.split("@@NODE", 1)
asamp = sorted(float(x) for x in asamp.split())
if len(asamp) < 10:
    sys.exit("latency-plot.sh: rdma-agent latency --samples gave %d samples" % len(asamp))
samples = [float(m.group(1)) for m in re.finditer(r"^\s*\d+,\s*([0-9.eE+-]+)\s*$", perf, re.M)]
samples = [s for s in samples if math.isfinite(s) and s > 0]
if len(samples) < 10:
    sys.exit("latency-plot.sh: ib_send_lat -H printed %d usable samples (cycle conversion failed or no run):\n%s" % (len(samples), perf[-600:]))
a = json.loads(agent)
summary = [l for l in perf.splitlines() if re.match(r"^\s*%s\s+%s\s" % (size, iters), l)]
# ib_send_lat's figures the agent's way (latency_figures: sorted, top 2 dropped, half round trips
# already): the -H samples are half round trips.
d = sorted(samples); m = len(d) - 2
med = (d[m // 2] + d[m // 2 - 1]) / 2 if (m - 1) % 2 else d[m // 2]
idx = lambda q: min(int(math.ceil(m * q)), len(d) - 1)
pf = {"min_us": d[0], "median_us": med, "p99_us": d[idx(0.99)], "p999_us": d[idx(0.999)], "max_us": d[m]}
with open(data, "w") as f:
    f.write("# %s; node: %s\n" % (where, node.strip()))
    f.write("# ib_send_lat summary line: %s\n" % (summary[0].strip() if summary else "none"))
    f.write("# rdma-agent latency: %s\n" % json.dumps({k: a[k] for k in a if k.endswith("_us")}, sort_keys=True))
    f.write("# ib_send_lat from -H the agent's way: %s\n" % json.dumps({k: round(v, 3) for k, v in pf.items()}, sort_keys=True))
    f.write("# block 0: ib_send_lat -H samples (us, half round trip), sorted, with their cumulative fraction\n")
    for i, s in enumerate(d):
        f.write("%.4f %.6f\n" % (s, (i + 1) / len(d)))
    f.write("\n\n# block 1: rdma-agent latency figures at their quantiles: us fraction label\n")
    for k, q in (("min_us", 0.0), ("median_us", 0.5), ("p99_us", 0.99), ("p999_us", 0.999), ("max_us", 1.0)):
        f.write('%.4f %.4f "%s"\n' % (a[k], q, k[:-3]))
    f.write("\n\n# block 2: ib_send_lat figures the agent's way, same quantiles\n")
    for k, q in (("min_us", 0.0), ("median_us", 0.5), ("p99_us", 0.99), ("p999_us", 0.999), ("max_us", 1.0)):
        f.write('%.4f %.4f "%s"\n' % (pf[k], q, k[:-3]))
    f.write("\n\n# block 3: rdma-agent latency --samples (us, half round trip), sorted, with their cumulative fraction\n")
    for i, s in enumerate(asamp):
        f.write("%.4f %.6f\n" % (s, (i + 1) / len(asamp)))
print("latency-plot.sh: %d ib_send_lat samples, %d rdma-agent samples; median ib_send_lat %.2f us (its summary line: %s), rdma-agent %.2f us; p99 %.2f / %.2f us" % (
    len(d), len(asamp), med, summary[0].split()[4] if summary else "?", a["median_us"], pf["p99_us"], a["p99_us"]))
PY
fi
[ -s "$DATA" ] || { echo "latency-plot.sh: no data file $DATA (run without PLOT_ONLY first)" >&2; exit 2; }
title=$(sed -n '1s/^# //p' "$DATA" | cut -d';' -f1)
gnuplot <<EOF
set terminal svg size 800,480 dynamic font 'sans,11' background rgb 'white'
set output '$OUT'
set title "RC SEND loopback latency, ${SIZE} B, ${ITERS} iterations, rxe (Soft-RoCE) under QEMU TCG\n{/*0.8 $title}"
set xlabel 'half round trip (us), log scale'
set ylabel 'cumulative fraction of samples'
set logscale x
set grid
set key bottom right
set yrange [0:1.02]
plot '$DATA' index 0 using 1:2 with steps lw 2 lc rgb '#1f77b4' title 'ib\\_send\\_lat -H (every sample)', \
     '' index 2 using 1:2 with points pt 6 ps 1.5 lc rgb '#1f77b4' title 'ib\\_send\\_lat: min, median, p99, p99.9, max', \
     '' index 1 using 1:2 with points pt 7 ps 1.2 lc rgb '#d62728' title 'rdma-agent latency: min, median, p99, p99.9, max', \
     '' index 3 using 1:2 with steps lw 2 lc rgb '#d62728' title 'rdma-agent latency --samples (every sample)', \
     '' index 1 using 1:2:3 with labels offset 1.5,-0.6 font ',9' tc rgb '#d62728' notitle
EOF
echo "latency-plot.sh: wrote $OUT from $DATA"
