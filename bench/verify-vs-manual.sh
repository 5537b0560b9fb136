#!/usr/bin/env bash
# Benchmark 6: whole verification of two deployed lab nodes (env LAB, RDMA_LAB, LAB_INVENTORY as
# lab/with-lab exports them; the agent package installed on both, e.g. by bench/deploy-cost.sh),
# the agent against the sequence an operator runs by hand for the same evidence, RUNS rounds,
# the order alternating. Everything is driven from the control node over `lab ssh`, as an operator
# would; each side is timed end to end (what the operator waits for), and the node-side process
# time of each command is taken too (GNU time on the node) so that SSH's share is visible.
#   agent   on B: `rdma-agent serve` started (returns once it listens); on A: one
#           `rdma-agent check --peer B` with latency enabled (1000 iterations): devices and GID
#           table, RC traffic with byte verification and a multicast join (loopback on A), latency
#           loopback, and RC traffic + 1000 ping-pongs to B (the peer check)
#   manual  on A: ibv_devinfo -v; ibv_rc_pingpong pair (server B, client A); mckey pair (receiver B,
#           sender A, 5 datagrams); ib_send_lat pair (server B, client A, size 2, 1000 iterations)
# The latency figures compared: the agent's peer median (A -> B) and ib_send_lat's t_typical (A ->
# B), same size and iterations. Goal (issue 9): agent <= 1/10 of the manual wall time. Also printed:
# the node-side ratio without that latency run, which both sides make and which costs them about the
# same (it bounds the whole ratio from below: docs/BENCHMARKS.md, section 6).
# Env: NODE_A (node1), NODE_B (node2), DEVICE (rxe0), GID_INDEX (1), RUNS (3).
# Exit 0 measured, 1 a step failed, 2 bad input, 77 no lab.
# The *_side functions are called by name ("${side}_side"): shellcheck cannot see it.
# shellcheck disable=SC2317
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
# shellcheck source=bench/lib.sh
. bench/lib.sh
A=${NODE_A:-node1}; B=${NODE_B:-node2}
DEVICE=${DEVICE:-rxe0}; GID_INDEX=${GID_INDEX:-1}; RUNS=${RUNS:-3}
for v in GID_INDEX RUNS; do
  case "${!v}" in ''|*[!0-9]*) echo "verify-vs-manual.sh: $v must be a non-negative integer, got '${!v}'" >&2; exit 2 ;; esac
done
[ "$RUNS" -ge 1 ] || { echo "verify-vs-manual.sh: RUNS must be at least 1" >&2; exit 2; }
[ "$A" != "$B" ] || { echo "verify-vs-manual.sh: NODE_A and NODE_B must differ (a pair needs two nodes)" >&2; exit 2; }
bench_need_lab verify-vs-manual.sh
ipA=$(bench_data_ip "$A"); ipB=$(bench_data_ip "$B")
if [ -z "$ipA" ] || [ -z "$ipB" ]; then echo "verify-vs-manual.sh: no lab_data_ip for $A or $B in $LAB_INVENTORY" >&2; exit 2; fi
for n in "$A" "$B"; do
  "$LAB" ssh "$n" 'command -v rdma-agent && command -v ib_send_lat && command -v mckey && command -v ibv_rc_pingpong && test -x /usr/bin/time' >/dev/null 2>&1 \
    || { echo "verify-vs-manual.sh: $n lacks rdma-agent, perftest, rdmacm-utils, ibverbs-utils or GNU time (deploy first; apt-get install time)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/bench-verify.XXXXXX)
echo "verify-vs-manual.sh: $A -> $B ($ipA -> $ipB), $DEVICE gid $GID_INDEX, $RUNS rounds; $(date -u '+%F %H:%M') UTC, host load $(bench_load)"
# The agent's config for the full check on A: latency on, 1000 iterations, the lab's budgets.
"$LAB" ssh "$A" 'mkdir -p /tmp/bench && cat > /tmp/bench/agent.yaml' <<'YAML'
schema_version: 1
latency:
  enabled: true
  iters: 1000
  budget_us: {median: 2000, p99: 100000}
YAML

# on NODE CMD: run CMD on NODE under GNU time; appends "secs" of the node-side process to $work/node.
# (the command's stderr is merged into its stdout on the node; "@@T secs" goes to node.t)
on() { local n=$1; shift; "$LAB" ssh "$n" "/usr/bin/time -f '@@T %e' -o /tmp/bench/t $* 2>&1; rc=\$?; cat /tmp/bench/t >&2; exit \$rc" 2>>"$work/node.t"; }
# bg NODE WAIT CMD: start CMD in the background on NODE; return once it is ready: WAIT is a TCP port
# it listens on, or a text its output prints when ready (20 s at most). The server's own process time
# is not counted on the node side (the client's covers the exchange).
bg() {
  local n=$1 w=$2; shift 2
  local ready="ss -ltn | grep -q ':$w '"
  case "$w" in *[!0-9]*) ready="grep -q '$w' /tmp/bench/bg.out" ;; esac
  # shellcheck disable=SC2016 # expanded by the node's shell
  "$LAB" ssh "$n" "mkdir -p /tmp/bench; rm -f /tmp/bench/bg.out /tmp/bench/bg.rc; setsid sh -c 'timeout 120 $* > /tmp/bench/bg.out 2>&1; echo \$? > /tmp/bench/bg.rc' </dev/null >/dev/null 2>&1 &
    for i in \$(seq 600); do $ready && exit 0; [ -s /tmp/bench/bg.rc ] && break; sleep 0.05; done
    echo \"not ready: $w (\$([ -s /tmp/bench/bg.rc ] && echo \"it exited \$(cat /tmp/bench/bg.rc)\" || echo 'still running'));\" \"its output: \$(tail -c 300 /tmp/bench/bg.out)\" >&2; exit 1"
}
bgwait() {  # bgwait NODE: wait for the background command, print its output, return its exit code
  # shellcheck disable=SC2016 # expanded by the node's shell
  "$LAB" ssh "$1" 'for i in $(seq 600); do [ -s /tmp/bench/bg.rc ] && break; sleep 0.1; done; cat /tmp/bench/bg.out; exit "$(cat /tmp/bench/bg.rc 2>/dev/null || echo 99)"'
}
node_sum() { awk '$1 == "@@T" { s += $2 } END { printf "%.2f", s }' "$work/node.t"; }

agent_side() {  # -> prints the peer median (us); returns non-zero on failure
  bg "$B" 18515 "rdma-agent serve --listen $ipB --connections 1 --idle-timeout 60" || return 1
  on "$A" "rdma-agent check --config /tmp/bench/agent.yaml --only stack,devices,verbs,multicast,latency,peer --peer $ipB --format json" > "$work/agent.json"
  local rc=$?
  bgwait "$B" > "$work/serve.out" 2>&1
  [ "$rc" -le 1 ] || { echo "agent check exit $rc" >&2; return 1; }
  "$PY" - "$work/agent.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["name"]: x for x in d["checks"]}
bad = [n for n in ("verbs", "multicast", "latency", "peer") if c.get(n, {}).get("status") != "pass"]
if bad:
    sys.exit("not passed: " + ", ".join("%s=%s (%s)" % (n, c.get(n, {}).get("status"), c.get(n, {}).get("message")) for n in bad))
p = c["peer"]["entities"][0]["details"]; l = c["latency"]["entities"][0]["details"]
print("%.2f %.2f %d" % (p["median_us"], l["median_us"], p.get("round_trips", 0)))
# The node-side seconds of its node-to-node latency run (the peer check), for the summary.
open(sys.argv[1] + ".lat", "w").write("%.3f\n" % (c["peer"]["duration_ms"] / 1000.0))
EOF
}
manual_side() {  # -> prints ib_send_lat t_typical (us)
  on "$A" "ibv_devinfo -v" > "$work/devinfo.out" || return 1
  bg "$B" 18515 "ibv_rc_pingpong -d $DEVICE -g $GID_INDEX" || return 1
  on "$A" "ibv_rc_pingpong -d $DEVICE -g $GID_INDEX $ipB" > "$work/rcpp.out" 2>&1 || { cat "$work/rcpp.out" >&2; return 1; }
  bgwait "$B" > "$work/rcpp.srv" 2>&1 || return 1
  bg "$B" "receiving data transfers" "mckey -m 239.1.1.1 -b $ipB -C 5" || return 1
  on "$A" "mckey -m 239.1.1.1 -b $ipA -s -C 5" > "$work/mckey.out" 2>&1 || { cat "$work/mckey.out" >&2; return 1; }
  bgwait "$B" > "$work/mckey.srv" 2>&1 || { echo "mckey receiver: $(tail -c 200 "$work/mckey.srv")" >&2; return 1; }
  bg "$B" 18515 "ib_send_lat -d $DEVICE -x $GID_INDEX -s 2 -n 1000" || return 1
  on "$A" "ib_send_lat -d $DEVICE -x $GID_INDEX -s 2 -n 1000 $ipB" > "$work/lat.out" 2>&1 || { tail -5 "$work/lat.out" >&2; return 1; }
  bgwait "$B" > "$work/lat.srv" 2>&1
  awk '$1 == 2 && $2 == 1000 && NF >= 9 { print $5; f = 1 } END { if (!f) exit 1 }' "$work/lat.out"
  # The node-side seconds of its latency run: the ib_send_lat client, the last command timed on A.
  awk '$1 == "@@T" { v = $2 } END { print v }' "$work/node.t" > "$work/manual.json.lat"
}

failed=0
res=()
for i in $(seq "$RUNS"); do
  if [ $((i % 2)) -eq 1 ]; then order="agent manual"; else order="manual agent"; fi
  line="round $i/$RUNS:"
  for side in $order; do
    : > "$work/node.t"
    bench_time t "${side}_side" > "$work/$side.fig" 2> "$work/$side.err"; rc=$?
    if [ $rc -ne 0 ]; then
      echo "   $side side failed (round $i): $(tail -c 400 "$work/$side.err")"; failed=1; continue
    fi
    res+=("$side $t $(node_sum) $(cat "$work/$side.json.lat" 2>/dev/null || echo nan) $(cat "$work/$side.fig")")
    line="$line $side ${t} s (node-side $(node_sum) s, latency $(cut -d' ' -f1 "$work/$side.fig") us) |"
  done
  echo "$line host load $(bench_load)"
done
[ ${#res[@]} -gt 0 ] || { echo "verify-vs-manual.sh: no round completed"; exit 1; }
printf '%s\n' "${res[@]}" | "$PY" -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
def med(side, i):
    v = [float(r[i]) for r in rows if r[0] == side]
    return statistics.median(v) if v else float("nan"), len(v)
(aw, na), (mw, nm) = med("agent", 1), med("manual", 1)
(an, _), (mn, _) = med("agent", 2), med("manual", 2)
(alat, _), (mlat, _) = med("agent", 3), med("manual", 3)
(al, _), (ml, _) = med("agent", 4), med("manual", 4)
(ll, _) = med("agent", 5)
print("| side | rounds | wall s (median) | node-side process s | latency us (median) |")
print("|---|---|---|---|---|")
print("| agent: serve on B + one check --peer (verbs, multicast, latency loopback, peer 1000) | %d | %.1f | %.2f | peer %.2f (loopback %.2f) |" % (na, aw, an, al, ll))
print("| manual: ibv_devinfo -v, ibv_rc_pingpong, mckey, ib_send_lat pairs | %d | %.1f | %.2f | ib_send_lat t_typical %.2f |" % (nm, mw, mn, ml))
print("ratio agent/manual: wall %.2f (goal <= 0.10: %s), node-side %.2f; latency agent peer / ib_send_lat %.3f" % (
    aw / mw, "met" if aw / mw <= 0.10 else "NOT met", an / mn, al / ml))
# Both sides run the same 1000-iteration node-to-node latency measurement (the issue asks for the
# same figure), which costs them about the same: it bounds the ratio from below. The rest of the
# evidence (devices, RC traffic, multicast) compared without it, node side:
print("node-side without the shared latency run (agent peer check %.2f s, ib_send_lat client %.2f s): "
      "agent %.2f s vs manual %.2f s = %.3f; floor of the whole ratio from that run alone: %.2f" % (
    alat, mlat, an - alat, mn - mlat, (an - alat) / (mn - mlat), alat / mn))
'
echo "verify-vs-manual.sh: outputs of the last round in $work"
exit $failed
