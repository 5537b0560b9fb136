#!/usr/bin/env bash
# make bench: boot one lab node, prepare it as the agent device suite does (agent pushed, rxe0,
# runtime packages), then run the benchmarks side by side with the tools users compare with:
#   bench/agent-check.sh    rdma-agent check (no latency) vs ibv_devinfo -v: wall ms, peak RSS
#   bench/agent-latency.sh  rdma-agent latency median vs ib_send_lat t_typical (same device, size, iters)
# Output is also written to build/bench/<UTC time>.txt. Figures are from QEMU TCG nodes on a
# shared host: read them as ratios measured in one run, not as hardware numbers.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 3
out=build/bench/$(date -u +%Y%m%dT%H%M%SZ).txt
mkdir -p build/bench
export RDMA_LAB=${RDMA_LAB:-bench}
# shellcheck disable=SC2016 # expanded inside the lab's environment
lab/with-lab --nodes 1 -- bash -c '
  set -o pipefail
  echo "== preparing node1 (tests/e2e/agent-device.sh)"
  tests/e2e/agent-device.sh >/dev/null || { echo "bench: node preparation failed; run tests/e2e/agent-device.sh to see why"; exit 1; }
  export AGENT=/usr/local/bin/rdma-agent
  rc=0
  for b in bench/agent-check.sh bench/agent-latency.sh; do
    echo "== $b"; "$b" || rc=1
  done
  exit $rc' 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
echo "bench: results in $out"
exit "$rc"
