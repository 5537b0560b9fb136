#!/usr/bin/env bash
# End-to-end: playbooks/multicast-fanout.yml on deployed lab nodes (env LAB, RDMA_LAB,
# LAB_INVENTORY from lab/with-lab; after the deploy suite: the agent package on every node).
#   clean   the first node sends, every other node receives every datagram (report says so, exit 0)
#   loss    the last node drops the group's RoCE traffic at its NIC (tc ingress filter on the
#           data NIC, removed afterwards): the play fails that host and its report names it
# Needs two nodes (a fan-out of one is not one): skips (77) in a 1-node lab, saying so.
# Exit 0 pass, 1 fail, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

if [ -z "${LAB:-}" ] || [ -z "${LAB_INVENTORY:-}" ] || [ ! -e "${LAB_INVENTORY}/hosts.yml" ]; then
  echo "SKIP  fanout e2e: no running lab (LAB / LAB_INVENTORY unset; run it through lab/with-lab)"
  exit 77
fi
mapfile -t nodes < <(lab_nodes)
if [ ${#nodes[@]} -lt 2 ]; then
  echo "SKIP  fanout e2e: ${#nodes[@]} node(s) in the lab; a multicast fan-out needs a sender and a receiver"
  exit 77
fi
sender=${nodes[0]} lossy=${nodes[-1]}
work=$(mktemp -d /tmp/fanout-e2e.XXXXXX)
group=239.1.1.2
netdev=$(sed -n 's/^ *rdma_softroce_netdevs: \[\([^],]*\).*/\1/p' "$LAB_INVENTORY/hosts.yml")
play() { ansible-playbook -i "$LAB_INVENTORY" playbooks/multicast-fanout.yml -e rdma_fanout_count=200 "$@"; }

say "fan-out: $sender sends 200 datagrams to $group, ${#nodes[@]} node(s) in the lab"
t0=$(date +%s)
play > "$work/clean.log" 2>&1; rc=$?
secs=$(( $(date +%s) - t0 ))
if [ "$rc" -eq 0 ] && grep -q "every receiver got every datagram ($(( ${#nodes[@]} - 1 )) receivers)" "$work/clean.log" \
   && grep -qE "$lossy: 200/200 received, 0 lost, 0 corrupted" "$work/clean.log"; then
  pass "clean fan-out in ${secs} s: $(grep -oE "$lossy: 200/200 received[^\"]*" "$work/clean.log" | head -1)"
else
  fail "clean fan-out: exit $rc"; grep -E 'msg|fatal|FAILED|received|ERROR' "$work/clean.log" | head -20
fi

say "loss: $lossy drops RoCE traffic to $group at $netdev (tc ingress filter), then the fan-out again"
"$LAB" ssh "$lossy" "tc qdisc add dev $netdev handle ffff: ingress && tc filter add dev $netdev parent ffff: protocol ip prio 1 u32 match ip dst $group/32 action drop" \
  > "$work/tc.log" 2>&1 || { fail "could not install the tc filter on $lossy:"; cat "$work/tc.log"; }
t0=$(date +%s)
play -e rdma_fanout_timeout_ms=8000 > "$work/loss.log" 2>&1; rc=$?
secs=$(( $(date +%s) - t0 ))
"$LAB" ssh "$lossy" "tc qdisc del dev $netdev ingress" >/dev/null 2>&1
left=$("$LAB" ssh "$lossy" "tc qdisc show dev $netdev ingress" 2>/dev/null)
if [ "$rc" -ne 0 ] && grep -q "hosts that lost datagrams: $lossy" "$work/loss.log" \
   && grep -qE "$lossy: 0/200 received, 200 lost" "$work/loss.log" \
   && [ "$(recap_field "$work/loss.log" "$lossy" failed)" -eq 1 ] && [ "$(recap_field "$work/loss.log" "$sender" failed)" -eq 0 ]; then
  pass "loss named in ${secs} s: exit $rc, 'hosts that lost datagrams: $lossy', $lossy failed=1, $sender failed=0"
else
  fail "loss: exit $rc"; grep -E 'msg|fatal|received|lost|ERROR' "$work/loss.log" | head -20
fi
if [ -z "$left" ]; then pass "the tc filter is gone from $lossy"; else fail "tc ingress left on $lossy: $left"; fi
rm -rf "$work"
exit "$failed"
