#!/usr/bin/env bash
# Benchmark 5, rollback: time from a failed health gate to a verified restored node, on a deployed
# and committed lab node (env LAB, RDMA_LAB, LAB_INVENTORY as lab/with-lab exports them). The fault
# is the transaction suite's (tests/e2e/txn.sh, fault "gate"): an ordinary variable,
# rdma_agent_flow_steering_required: true, in an extra inventory source for NODE only; rxe has no
# flow steering, so the gate fails after a good run and the deploy rolls the node back. Measured:
#   run      the whole deploy-rdma.yml run (exit non-zero expected)
#   gate->restored   from the end of the failing gate task to the end of the rollback (the play's
#            own task timestamps, profile_tasks: the first task after the rescue block)
#   rdma-txn the restore itself as rdma-txn reports it ("rolled back to snapshot ... in N s")
#   verify   independent check from the control node afterwards: installed packages, sha256 of
#            every file under /etc and loaded modules identical to before, agent verdict the same
# Exit 0 measured and restored, 1 not restored / a step failed, 2 bad input, 77 no lab.
# Env: NODE (node1).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
# shellcheck source=bench/lib.sh
. bench/lib.sh
NODE=${NODE:-node1}
bench_need_lab rollback.sh
lab_nodes | grep -qx "$NODE" || { echo "rollback.sh: NODE '$NODE' is not in the lab" >&2; exit 2; }
state=$("$LAB" ssh "$NODE" 'python3 /var/lib/rdma-deploy/bin/rdma-txn journal show' 2>/dev/null \
  | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("state",""))' 2>/dev/null)
[ "$state" = committed ] || { echo "rollback.sh: $NODE has no committed deploy (journal: '${state:-none}'): deploy it first" >&2; exit 2; }
work=$(mktemp -d /tmp/bench-rollback.XXXXXX)
echo "rollback.sh: $NODE ($RDMA_LAB), $(date -u '+%F %H:%M') UTC, host load $(bench_load); logs in $work"
echo "rollback.sh: recording the node's state (dpkg-query, sha256 of /etc, lsmod) and the agent's verdict"
node_state "$NODE" "$work/before" || { echo "rollback.sh: cannot read $NODE's state" >&2; exit 1; }
agent_statuses "$NODE" > "$work/verdict.before"
printf 'all:\n  hosts:\n    %s:\n      rdma_agent_flow_steering_required: true\n' "$NODE" > "$work/fault.yml"
echo "rollback.sh: deploy-rdma.yml -l $NODE with rdma_agent_flow_steering_required: true (gate fails, rollback; a few minutes under TCG)"
t_run=0 t_verify=0  # set by bench_time
bench_time t_run ansible-playbook -i "$LAB_INVENTORY" -i "$work/fault.yml" -l "$NODE" deploy-rdma.yml > "$work/run.log" 2>&1; rc=$?
echo "rollback.sh: run exit $rc in $t_run s (recap: $(bench_recap "$work/run.log"))"
failed=0
if [ $rc -eq 0 ] || ! grep -q "$NODE: deploy failed and was rolled back to snapshot" "$work/run.log"; then
  echo "rollback.sh: the run did not fail and roll back as the fault should make it:"; grep -E 'fatal|FAILED|First cause' "$work/run.log" | head -10; failed=1
fi
# The play's own timeline (profile_tasks prints the elapsed time at the start of every task).
timeline=$("$PY" - "$work/run.log" "$NODE" <<'EOF'
import re, sys
log, node = sys.argv[1], sys.argv[2]
tasks = []  # (name, elapsed s at its start, failed for node)
cur = None
for line in open(log):
    m = re.match(r"^TASK \[(.*)\] \*", line)
    if m:
        cur = [m.group(1), None, False]; tasks.append(cur); continue
    m = re.search(r"\)\s+(\d+):(\d+):(\d+\.\d+)\s+\*+\s*$", line)
    if m and cur is not None and cur[1] is None:
        cur[1] = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)); continue
    if cur is not None and re.match(r"^fatal: \[%s\]" % re.escape(node), line):
        cur[2] = True
end = None
for line in open(log):
    m = re.search(r"\)\s+(\d+):(\d+):(\d+\.\d+)\s+\*+\s*$", line)
    if m: end = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
gi = next((i for i, t in enumerate(tasks) if t[2] and "gate" in t[0].lower()), None)
if gi is None:
    print("no failing gate task for %s found" % node); sys.exit(0)
after_gate = tasks[gi + 1][1] if gi + 1 < len(tasks) else end
ri = next((i for i in range(gi + 1, len(tasks)) if tasks[i][0].startswith("Rollout:") or "Fail the hosts" in tasks[i][0]), None)
restored = tasks[ri][1] if ri is not None else end
print("gate task '%s' ended at %.1f s into the run; rollback tasks ended at %.1f s ('%s'): gate->restored %.1f s" % (
    tasks[gi][0], after_gate, restored, tasks[ri][0] if ri is not None else "end of run", restored - after_gate))
print("@@%.1f" % (restored - after_gate))
EOF
)
echo "rollback.sh: $(grep -v '^@@' <<<"$timeline")"
t_play=$(sed -n 's/^@@//p' <<<"$timeline")
txn=$(grep -oE "rolled back to snapshot [0-9TZ]+ in [0-9.]+ s" "$work/run.log" | head -n1)
echo "rollback.sh: rdma-txn: ${txn:-no restore time in the log}"
# shellcheck disable=SC2317 # called through bench_time
verify() {
  node_state "$NODE" "$work/after" && agent_statuses "$NODE" > "$work/verdict.after"
}
bench_time t_verify verify
if diff -q "$work/before" "$work/after" >/dev/null && diff -q "$work/verdict.before" "$work/verdict.after" >/dev/null; then
  echo "rollback.sh: verified in $t_verify s: $(grep -c '^pkg ' "$work/before") packages, $(grep -c '^etc ' "$work/before") /etc files, $(grep -c '^mod ' "$work/before") modules identical; agent verdict as before: $(cat "$work/verdict.after")"
else
  echo "rollback.sh: NOT restored ($t_verify s):"; diff "$work/before" "$work/after" | head -20; diff "$work/verdict.before" "$work/verdict.after"; failed=1
fi
total=$(awk -v a="${t_play:-0}" -v b="$t_verify" 'BEGIN { printf "%.1f", a + b }')
echo
echo "| run (gate fault, exit $rc) | gate failed -> rolled back (play timeline) | rdma-txn restore | independent verification | gate failed -> verified restored |"
echo "|---|---|---|---|---|"
echo "| $t_run s | ${t_play:--} s | $(grep -oE '[0-9.]+ s$' <<<"$txn" || echo -) | $t_verify s | $total s |"
exit $failed
