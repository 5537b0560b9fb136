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

# The agent's own multicast check on every node at the same moment, as health.yml and the deploy's
# gate run it: all nodes use the configured group, so each member also receives the others'
# datagrams. Each must still pass (a lab run of 11-29 lost 2-3 of 20 per node this way before the
# check tagged its datagrams and made room for other senders). Every node's check waits on its
# stdin until all are connected, then all are released together; "foreign" in the report counts
# the other nodes' datagrams it ignored, i.e. that the runs did overlap.
say "the agent's multicast check on ${#nodes[@]} nodes at the same moment, 5 rounds"
bad=0 overlap=0
for round in 1 2 3 4 5; do
  fds=()
  for n in "${nodes[@]}"; do
    rm -f "$work/go.$n"; mkfifo "$work/go.$n"
    # shellcheck disable=SC2016 # expanded by the node's shell
    "$LAB" ssh "$n" 'echo ready >&2; read -r _; rdma-agent check --only multicast --format json' \
      < "$work/go.$n" > "$work/mc.$n.json" 2> "$work/mc.$n.err" &
    exec {fd}> "$work/go.$n"; fds+=("$fd")
  done
  for _ in $(seq 600); do
    r=0; for n in "${nodes[@]}"; do grep -q ready "$work/mc.$n.err" 2>/dev/null && r=$((r + 1)); done
    [ "$r" -eq ${#nodes[@]} ] && break; sleep 0.1
  done
  for fd in "${fds[@]}"; do echo go >&"$fd"; done
  for fd in "${fds[@]}"; do exec {fd}>&-; done
  wait
  for n in "${nodes[@]}"; do
    res=$("$PY" -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    c = [c for c in d["checks"] if c["name"] == "multicast"][0]
    f = sum(int(e.get("details", {}).get("foreign", 0)) for e in c["entities"])
    print(c["status"], f, c["message"][:200].replace("\n", " "))
except Exception as e:
    print("none 0 no report (%s)" % e)' "$work/mc.$n.json")
    read -r st fo msg <<<"$res"
    [ "$fo" -gt 0 ] && overlap=$((overlap + 1))
    if [ "$st" = pass ]; then echo "      round $round $n: pass, $fo foreign datagram(s) ignored"
    else bad=$((bad + 1)); echo "      round $round $n: $st: $msg"; fi
  done
done
if [ "$bad" -eq 0 ]; then
  pass "concurrent multicast checks: 5 rounds x ${#nodes[@]} nodes all pass; the runs overlapped in $overlap node-round(s) (other nodes' datagrams received and ignored)"
else
  fail "concurrent multicast checks: $bad of $(( 5 * ${#nodes[@]} )) node-rounds did not pass"
fi
rm -rf "$work"
exit "$failed"
