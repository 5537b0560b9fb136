#!/usr/bin/env bash
# End-to-end: the cross-node `peer` check on deployed lab nodes (env LAB, RDMA_LAB, LAB_INVENTORY
# from lab/with-lab; runs after the deploy suite, which installs the agent package everywhere).
#   serve   `rdma-agent serve` on the second node, started for this check only, on its data address
#   peer    `rdma-agent check --only peer --peer <its data address>` on the first node: RC traffic
#           across the VDE switch (pattern verified both ways), 1000 ping-pongs, latency figures;
#           the listener has exited afterwards (it runs only during the check)
#   refused a peer where nobody serves: the check fails, naming the cause, within its timeout
# With one node the node is its own peer (said): RC traffic through its own rxe device.
# Exit 0 pass, 1 fail, 77 no lab.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

if [ -z "${LAB:-}" ] || [ -z "${LAB_INVENTORY:-}" ] || [ ! -e "${LAB_INVENTORY}/hosts.yml" ]; then
  echo "SKIP  peer e2e: no running lab (LAB / LAB_INVENTORY unset; run it through lab/with-lab)"
  exit 77
fi
mapfile -t nodes < <(lab_nodes)
A=${nodes[0]} B=${nodes[1]:-${nodes[0]}}
[ "$A" = "$B" ] && say "one node: $A is its own peer (the two-node path runs in the 2-node e2e lab)"
data_ip() { ansible-inventory -i "$LAB_INVENTORY" --host "$1" 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("lab_data_ip",""))'; }
ipB=$(data_ip "$B")
[ -n "$ipB" ] || { fail "no lab_data_ip for $B in $LAB_INVENTORY"; exit 1; }
for n in "$A" "$B"; do
  "$LAB" ssh "$n" 'rdma-agent --version' >/dev/null 2>&1 || { fail "$n has no rdma-agent (run the deploy suite first)"; exit 1; }
done
say "peer check: $A -> $B ($ipB, data network)"
work=$(mktemp -d /tmp/peer-e2e.XXXXXX)

# serve on B in the background (setsid: survives the ssh session), one connection, 120 s at most.
# shellcheck disable=SC2016 # expanded by the node's shell
"$LAB" ssh "$B" "rm -f /tmp/rdma-serve.log /tmp/rdma-serve.rc; setsid sh -c 'rdma-agent serve --listen $ipB --connections 1 --idle-timeout 120 >/tmp/rdma-serve.log 2>&1; echo \$? >/tmp/rdma-serve.rc' </dev/null >/dev/null 2>&1 &"
for _ in $(seq 30); do
  "$LAB" ssh "$B" 'grep -q listening /tmp/rdma-serve.log' 2>/dev/null && break
  sleep 1
done
"$LAB" ssh "$B" 'cat /tmp/rdma-serve.log' 2>/dev/null | sed 's/^/    | /'

t0=$(date +%s)
"$LAB" ssh "$A" "rdma-agent check --only peer --peer $ipB --format json" > "$work/peer.json" 2>"$work/peer.err"
rc=$?
secs=$(( $(date +%s) - t0 ))
summary=$("$PY" - "$work/peer.json" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("BAD no JSON: %s" % e); sys.exit(0)
c = [x for x in d["checks"] if x["name"] == "peer"]
if not c:
    print("BAD no peer check in the report"); sys.exit(0)
c = c[0]
e = c["entities"][0] if c["entities"] else {}
det = e.get("details", {})
ok = (c["status"] == "pass" and det.get("bytes_verified") == 8192 and det.get("round_trips") == 1000
      and det.get("median_us", 0) > 0 and det.get("p99_us", 0) >= det.get("median_us", 0)
      and str(det.get("remote_port", "")).startswith("rxe"))
print(("OK " if ok else "BAD ") + "%s: %s | %s" % (c["status"], c["message"], json.dumps(det, sort_keys=True)))
EOF
)
if [ "$rc" -eq 0 ] && [[ "$summary" == OK* ]]; then
  pass "peer: $A -> $B in ${secs} s: ${summary#OK }"
else
  fail "peer: exit $rc: $summary"; sed 's/^/    | /' "$work/peer.err" | head -5
fi
sleep 2
srv_rc=$("$LAB" ssh "$B" 'cat /tmp/rdma-serve.rc 2>/dev/null' 2>/dev/null)
srv_log=$("$LAB" ssh "$B" 'cat /tmp/rdma-serve.log' 2>/dev/null)
listening=$("$LAB" ssh "$B" 'ss -Hltn "sport = :18515" | wc -l' 2>/dev/null)
if [ "$srv_rc" = 0 ] && grep -q "bytes verified and echoed, 1000 ping-pongs" <<<"$srv_log" && [ "${listening:-1}" -eq 0 ]; then
  pass "serve on $B: exited 0 after its one check, nothing listens on 18515 any more: $(grep served <<<"$srv_log")"
else
  fail "serve on $B: rc '${srv_rc}', listeners ${listening}; log:"; printf '    | %s\n' "$srv_log"
fi

t0=$(date +%s)
"$LAB" ssh "$A" "rdma-agent check --only peer --peer $ipB:18599 --peer-timeout-ms 3000 --format json" > "$work/refused.json" 2>/dev/null
rc=$?
secs=$(( $(date +%s) - t0 ))
msg=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["checks"][0]["status"], d["checks"][0]["entities"][0]["message"])' "$work/refused.json" 2>/dev/null)
if [ "$rc" -eq 2 ] && [[ "$msg" == "fail connect: "*"Connection refused"* ]]; then
  pass "nobody serving on $ipB:18599: exit 2 in ${secs} s: $msg"
else
  fail "refused peer: exit $rc, '$msg'"
fi
rm -rf "$work"
exit "$failed"
