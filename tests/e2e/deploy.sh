#!/usr/bin/env bash
# End-to-end suite for deploy-rdma.yml on a running lab of FRESH nodes (env LAB, RDMA_LAB,
# LAB_INVENTORY from lab/with-lab). Steps, each printing PASS/FAIL:
#   1. a wrong variable is refused in preflight and no node is touched (dpkg, /etc hashes, lsmod)
#   2. --check --diff on the fresh nodes shows a diff and changes nothing (same comparison)
#   3. deploy (timed)
#   4. the agent's JSON on every node: verbs, multicast, mlx4_steering pass (with byte and datagram
#      counts), flow_steering reports unsupported; the sandboxed service writes the textfile
#   5. mckey multicast between the first two nodes
#   6. a second run reports changed=0 (timed)
# Exit 0 all passed, 1 a step failed, 77 no lab to run on.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

if [ -z "${LAB:-}" ] || [ -z "${LAB_INVENTORY:-}" ] || [ ! -e "${LAB_INVENTORY}/hosts.yml" ]; then
  echo "SKIP  deploy e2e: no running lab (LAB / LAB_INVENTORY unset; run it through lab/with-lab)"
  exit 77
fi
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh
work=$(mktemp -d /tmp/deploy-e2e.XXXXXX)

mapfile -t nodes < <(lab_nodes)
if [ ${#nodes[@]} -eq 0 ]; then fail "no hosts in $LAB_INVENTORY"; exit 1; fi
say "lab '${RDMA_LAB:-default}': ${nodes[*]} (inventory $LAB_INVENTORY)"

states() { for n in "${nodes[@]}"; do node_state "$n" "$work/$1.$n" || return 1; done; }
same_states() {  # same_states BEFORE AFTER WHAT
  local n
  for n in "${nodes[@]}"; do same_state "$work/$1.$n" "$work/$2.$n" "$n" "$3"; done
}
play() { ansible-playbook -i "$LAB_INVENTORY" deploy-rdma.yml "$@"; }

# 1. Refusal: a netdev the nodes do not have (the probes run, then preflight refuses).
say "1/7 preflight refuses a wrong variable, nothing touched"
states before-refuse || { fail "could not read node state"; exit 1; }
play -e '{"rdma_softroce_netdevs": ["ens99"]}' > "$work/refuse.log" 2>&1; rc=$?
states after-refuse
if [ $rc -ne 0 ] && grep -q "rdma_softroce_netdevs=.*no such network interface" "$work/refuse.log" \
   && grep -q "${nodes[0]}: rdma_softroce_netdevs" "$work/refuse.log"; then
  pass "wrong variable refused in preflight (exit $rc): $(grep -o "${nodes[0]}: rdma_softroce_netdevs[^\"]*" "$work/refuse.log" | head -n1)"
else
  fail "wrong variable not refused as expected (exit $rc)"; tail -30 "$work/refuse.log"
fi
same_states before-refuse after-refuse "refused run touched nothing"

# 2. Check mode on the fresh nodes.
say "2/7 --check --diff on fresh nodes"
play --check --diff > "$work/check.log" 2>&1; rc=$?
states after-check
if [ $rc -eq 0 ] && grep -q '^+++ after' "$work/check.log"; then
  pass "check mode ran (exit 0) and showed a diff ($(grep -c '^+++ after' "$work/check.log") file diffs; recap: $(recap_changed "$work/check.log"))"
else
  fail "check mode (exit $rc, $(grep -c '^+++ after' "$work/check.log") diffs)"; grep -E 'fatal|FAILED|ERROR' "$work/check.log" | head -20
fi
same_states before-refuse after-check "check mode changed nothing"

# 3. Deploy.
say "3/7 deploy (fresh nodes)"
t0=$(date +%s)
play > "$work/deploy.log" 2>&1; rc=$?
t_deploy=$(( $(date +%s) - t0 ))
if [ $rc -eq 0 ]; then
  pass "deploy-rdma.yml on ${#nodes[@]} fresh nodes: exit 0 in ${t_deploy} s (recap: $(recap_changed "$work/deploy.log"))"
else
  fail "deploy-rdma.yml exit $rc after ${t_deploy} s"; grep -E -A3 'fatal|FAILED' "$work/deploy.log" | head -60
fi
sed -n '/Gate: summary of all hosts/,/^$/p' "$work/deploy.log" | sed -n '1,12p'

# agent_verdict NODE TAG [LABEL]: rdma-agent check --format json on NODE must show pass for verbs,
# multicast and mlx4_steering with byte and datagram counts, and flow_steering unsupported.
agent_verdict() {
  local n=$1 tag=$2 label=${3:-} arc out
  "$LAB" ssh "$n" rdma-agent check --format json > "$work/agent.$n.$tag.json" 2> "$work/agent.$n.$tag.err"; arc=$?
  if out=$("$PY" - "$work/agent.$n.$tag.json" <<'PYEOF'
import json, sys
try:
    rep = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"no JSON report: {e}"); sys.exit(1)
checks = {c["name"]: c for c in rep.get("checks", [])}
def numbers(obj, word):
    """Numeric values under keys containing `word`, anywhere in obj."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if word in k and isinstance(v, (int, float)) and not isinstance(v, bool):
                found.append((k, v))
            found += numbers(v, word)
    elif isinstance(obj, list):
        for v in obj:
            found += numbers(v, word)
    return found
bad = []
for name in ("verbs", "multicast", "mlx4_steering"):
    c = checks.get(name)
    if not c or c.get("status") != "pass":
        bad.append(f"{name}={c.get('status') if c else 'missing'} ({c.get('message') if c else ''})")
b = [v for k, v in numbers(checks.get("verbs", {}), "byte") if v > 0]
# The agent names multicast counts "received"/"sent" (datagrams) in the group's entity details.
d = [v for w in ("datagram", "received") for k, v in numbers(checks.get("multicast", {}), w) if v > 0]
if not b: bad.append("verbs: no byte count > 0 in its entities")
if not d: bad.append("multicast: no datagram count > 0 in its entities")
fs = checks.get("flow_steering", {})
if fs.get("status") == "pass" or "unsupported" not in json.dumps(fs).lower():
    bad.append(f"flow_steering should report unsupported, got {fs.get('status')}: {fs.get('message')}")
summary = " ".join(f"{k}={c.get('status')}" for k, c in checks.items())
print(("; ".join(bad) + " | " if bad else "") + summary + f" | verbs bytes {b[:2]}, multicast datagrams {d[:2]}")
sys.exit(1 if bad else 0)
PYEOF
  ); then pass "$n: agent$label (exit $arc): $out"; else fail "$n: agent$label (exit $arc): $out $(head -c 300 "$work/agent.$n.$tag.err")"; fi
}

# 4. The agent's verdict on every node.
say "4/7 rdma-agent check --format json on every node"
for n in "${nodes[@]}"; do
  agent_verdict "$n" deploy
  if "$LAB" ssh "$n" 'systemctl start rdma-agent.service; test -s /var/lib/prometheus/node-exporter/rdma_agent.prom' \
       >/dev/null 2>&1 && "$LAB" ssh "$n" 'systemctl is-enabled rdma-agent.timer' >/dev/null 2>&1; then
    pass "$n: sandboxed rdma-agent.service wrote the Prometheus textfile; timer enabled"
  else
    fail "$n: rdma-agent.service (sandboxed) did not write the textfile: $("$LAB" ssh "$n" 'systemctl status rdma-agent.service --no-pager -n 8' 2>&1 | tail -n 8)"
  fi
done

# 5. mckey between two deployed nodes (node A receives, node B sends).
say "5/7 mckey multicast between two nodes"
if [ ${#nodes[@]} -ge 2 ]; then
  a=${nodes[0]} b=${nodes[1]}
  ipa=$(ansible-inventory -i "$LAB_INVENTORY" --host "$a" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["lab_data_ip"])')
  ipb=$(ansible-inventory -i "$LAB_INVENTORY" --host "$b" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["lab_data_ip"])')
  "$LAB" ssh "$a" "rm -f /tmp/mckey.out; nohup timeout 60 mckey -m 239.1.1.1 -b $ipa -C 5 > /tmp/mckey.out 2>&1 &" >/dev/null 2>&1
  sleep 5
  "$LAB" ssh "$b" "timeout 60 mckey -m 239.1.1.1 -b $ipb -s -C 5" > "$work/mckey.send" 2>&1; src=$?
  recv=""
  for _ in $(seq 1 30); do
    recv=$("$LAB" ssh "$a" 'cat /tmp/mckey.out' 2>/dev/null)
    grep -q "return status" <<<"$recv" && break
    sleep 2
  done
  if [ $src -eq 0 ] && grep -q "return status 0" "$work/mckey.send" && grep -q "return status 0" <<<"$recv"; then
    pass "mckey 239.1.1.1: $b ($ipb) sent 5 datagrams, $a ($ipa) received them (both: return status 0)"
  else
    fail "mckey: sender exit $src: $(tr '\n' ' ' < "$work/mckey.send" | tail -c 300) | receiver: $(tr '\n' ' ' <<<"$recv" | tail -c 300)"
  fi
else
  echo "SKIP  mckey needs two nodes (lab has ${#nodes[@]})"
fi

# 6. Second run: nothing to change.
say "6/7 second run (no-op)"
t0=$(date +%s)
play > "$work/rerun.log" 2>&1; rc=$?
t_rerun=$(( $(date +%s) - t0 ))
changed=$(recap_changed "$work/rerun.log")
if [ $rc -eq 0 ] && ! grep -qE '=[1-9]' <<<"$changed"; then
  pass "second run: exit 0, changed=0 on every host ($changed) in ${t_rerun} s"
else
  fail "second run: exit $rc, recap: $changed"; grep -B2 -A6 '^changed:' "$work/rerun.log" | head -60
fi

# 7. What the deploy set up for boot time comes back after a hard reset (no clean shutdown, no
# play run in between): the Soft-RoCE link from its systemd unit, the modules from modules-load.d,
# log_num_mgm_entry_size=-1 from modprobe.d, so the agent's verdict is the same as after the deploy.
say "7/7 hard reset of ${nodes[0]}: the deployed state comes back at boot"
t0=$(date +%s)
if "$LAB" reset "${nodes[0]}" > "$work/reset.log" 2>&1; then
  pass "${nodes[0]}: back after a hard reset in $(( $(date +%s) - t0 )) s"
  # SSH answers before boot has finished: wait for systemd to finish starting units (running or
  # degraded), then judge. A unit that failed shows in the agent's verdict, not here.
  boot=$("$LAB" ssh "${nodes[0]}" 'timeout 300 systemctl is-system-running --wait' 2>/dev/null)
  echo "      boot finished: system state '${boot:-unknown}'"
  agent_verdict "${nodes[0]}" reboot " after reboot"
else
  fail "${nodes[0]}: lab reset failed: $(tail -c 400 "$work/reset.log")"
fi

echo "deploy times: fresh deploy ${t_deploy:-?} s, no-op re-run ${t_rerun:-?} s (${#nodes[@]} nodes, lab '${RDMA_LAB:-default}')"
if [ $failed -eq 0 ]; then echo "deploy e2e: PASS"; rm -rf "$work"; else echo "deploy e2e: FAIL (logs in $work)"; fi
exit $failed
