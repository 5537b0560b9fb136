#!/usr/bin/env bash
# make bench: the benchmarks of docs/BENCHMARKS.md, side by side with what users compare us with.
#   bench/fleet-local.sh      4   control node cost per host: N local-connection hosts (no lab)
# then ONE lab of 2 fresh nodes (lab/with-lab --nodes 2), in an order that needs no second boot:
#   bench/deploy-cost.sh      3, 4, 7  baseline facts play (1 and 2 nodes), by hand on node2, fresh
#                             deploy of node1, deploy of node2, no-op re-runs (step "deploy"); the
#                             Ansible settings on no-op re-runs come later (step "settings",
#                             NOOP_ONLY=1) so that a short slot still gets 5, 6 and the plot
#   bench/verify-vs-manual.sh 6   the agent's whole check vs ibv_devinfo + 3 tool pairs, node1 -> node2
#   bench/latency-plot.sh     plot: ib_send_lat -H samples vs rdma-agent latency (docs/*.svg)
#   bench/agent-check.sh      1   rdma-agent check vs ibv_devinfo -v: wall ms, peak RSS
#   bench/agent-latency.sh    2   rdma-agent latency median vs ib_send_lat t_typical
#   bench/rollback.sh         5   failed gate -> verified restored node (the deployed state is back after)
#   bench/deploy-cost.sh      3   NOOP_ONLY=1: no-op re-runs with pipelining, forks, fact cache changed
#   bench/soak.sh             8   repeated checks: verbs resources, RSS, fds (last: its length is a budget)
# Env: STEPS (default "local deploy verify plot check latency rollback settings soak"), SOAK_BUDGET (s per
# soak part, 900), SOAK_COUNT (1000), SOAK_DEADLINE (epoch s the soak must end by; optional), NOOP_VARIANTS (bench/deploy-cost.sh), RDMA_LAB (bench).
# Output also goes to build/bench/<UTC time>.txt. Figures are from QEMU TCG nodes on a shared host:
# read them as ratios measured in one run, not as hardware numbers. Never asserts a time; exit 1 if a
# benchmark could not run to its end.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 3
STEPS=${STEPS:-local deploy verify plot check latency rollback settings soak}
for s in $STEPS; do
  case "$s" in local|deploy|verify|plot|check|latency|rollback|settings|soak) ;;
    *) echo "bench: unknown step '$s' in STEPS (local deploy verify plot check latency rollback settings soak)" >&2; exit 2 ;; esac
done
out=build/bench/$(date -u +%Y%m%dT%H%M%SZ).txt
mkdir -p build/bench
export RDMA_LAB=${RDMA_LAB:-bench} STEPS
export SOAK_BUDGET=${SOAK_BUDGET:-900} SOAK_COUNT=${SOAK_COUNT:-1000} SOAK_DEADLINE=${SOAK_DEADLINE:-}
{
  rc=0
  if [[ " $STEPS " == *" local "* ]]; then
    echo "== bench/fleet-local.sh (no lab)"; bench/fleet-local.sh || rc=1
  fi
  lab_steps=$(tr ' ' '\n' <<<"$STEPS" | grep -vx local | tr '\n' ' ')
  if [ -n "${lab_steps// /}" ]; then
    echo "== booting 2 lab nodes for: $lab_steps(2-5 min under TCG)"
    # shellcheck disable=SC2016 # expanded inside the lab's environment
    lab/with-lab --nodes 2 -- bash -c '
      has() { [[ " $STEPS " == *" $1 "* ]]; }
      rc=0
      run() { echo "== $*"; "$@" || { echo "bench: $1 exited $?"; rc=1; }; }
      if has deploy; then
        if has settings; then NOOP_VARIANTS= run bench/deploy-cost.sh; else run bench/deploy-cost.sh; fi
      else echo "bench: the deploy step is off: the other steps need deployed nodes"; fi
      for n in node1 node2; do
        "$LAB" ssh "$n" "test -x /usr/bin/time || DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null" || echo "bench: GNU time missing on $n"
      done
      has verify && run bench/verify-vs-manual.sh
      has plot && run bench/latency-plot.sh
      has check && AGENT=/usr/bin/rdma-agent run bench/agent-check.sh
      has latency && AGENT=/usr/bin/rdma-agent run bench/agent-latency.sh
      has rollback && run bench/rollback.sh
      has settings && NOOP_ONLY=1 run bench/deploy-cost.sh
      has soak && COUNT=$SOAK_COUNT BUDGET=$SOAK_BUDGET DEADLINE=$SOAK_DEADLINE run bench/soak.sh
      exit $rc' || rc=1
  fi
  exit $rc
} 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
echo "bench: results in $out"
exit "$rc"
