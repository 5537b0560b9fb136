#!/usr/bin/env bash
# End-to-end: the agent's verbs-driving checks on a lab node with Soft-RoCE (env LAB = lab/lab,
# RDMA_LAB, LAB_INVENTORY; see lab/with-lab). On node1:
#   setup   push build/rdma-agent and build/rdma-agent-device-tests; install the runtime packages
#           if missing; rdma_rxe + rxe0 on the data NIC if missing; mlx4_core loaded with
#           log_num_mgm_entry_size=-1 configured (a modprobe.d file of ours only when nothing
#           configures it; removed and the module state restored at the end)
#   device  rdma-agent-device-tests --require-mlx4: verbs, multicast, flow_steering, latency,
#           mlx4_steering against the real device (its PASS/FAIL lines are shown)
#   check   rdma-agent check --format json with a lab latency budget: verbs, multicast,
#           mlx4_steering, latency pass; flow_steering skip "unsupported by device rxe0" (the
#           Soft-RoCE device on the data NIC)
#   extras  `latency --samples` (its samples give the JSON's median) and `check --interval
#           --count 3` (three reports from one process, no verbs resource left)
# Idempotent about node state. Exit 0 pass, 1 fail, 77 skipped (no running lab / no build).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
LAB=${LAB:-$here/lab/lab}
export RDMA_LAB=${RDMA_LAB:-default}
LAB_INVENTORY=${LAB_INVENTORY:-$("$LAB" inventory 2>/dev/null)}
BUILD=${BUILD:-$here/build}
agent=$BUILD/rdma-agent
devtests=$BUILD/rdma-agent-device-tests
# Lab budget: Soft-RoCE under QEMU TCG gives a 14-25 us median; p99 reaches 10-25 ms when the
# 2-core host is loaded (two busy-polling threads share 2 vCPUs with rxe's kernel work).
MEDIAN_BUDGET_US=${MEDIAN_BUDGET_US:-2000}
P99_BUDGET_US=${P99_BUDGET_US:-100000}
node=node1

failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failed=$((failed+1)); }
on() { local t=$1; shift; timeout "$t" "$LAB" ssh "$node" "$@"; }
indent() { sed 's/^/    | /'; }

if ! "$LAB" status >/dev/null 2>&1; then
  echo "SKIP agent-device.sh: lab '$RDMA_LAB' is not up (run it under lab/with-lab, or: $LAB up --nodes 1)"
  exit 77
fi
for f in "$agent" "$devtests"; do
  [ -x "$f" ] || { echo "FAIL agent-device.sh: $f not built (run: make build)"; exit 1; }
done
hosts=$LAB_INVENTORY/hosts.yml
netdev=$(sed -n 's/^ *rdma_softroce_netdevs: \[\([^],]*\).*/\1/p' "$hosts" 2>/dev/null)
[ -n "$netdev" ] || { echo "FAIL agent-device.sh: cannot read rdma_softroce_netdevs from $hosts"; exit 1; }
echo "agent-device.sh: lab '$RDMA_LAB', $node, data NIC $netdev"

# ---------------------------------------------------------------------------------------- setup
# build/ holds binaries of the host's release (Debian 12). A node of another release (the e2e run
# on trixie: yaml-cpp 0.8, t64 libraries) cannot run them: there the agent of the package the deploy
# built on that release's builder node (/usr/bin/rdma-agent) is checked, and the device-test binary,
# which exists only for the host's release, is not run (said below).
# shellcheck disable=SC2016 # expanded by the node's shell
node_rel=$(on 60 '. /etc/os-release; echo "$VERSION_CODENAME"' 2>/dev/null)
host_rel=$(. /etc/os-release; echo "$VERSION_CODENAME")
foreign=0
if [ -n "$node_rel" ] && [ "$node_rel" != "$host_rel" ]; then
  foreign=1
  on 60 'rm -f /usr/local/bin/rdma-agent /usr/local/bin/rdma-agent-device-tests; test -x /usr/bin/rdma-agent' >/dev/null 2>&1 \
    || { fail "setup: $node runs $node_rel, build/ is $host_rel, and no deployed rdma-agent package is on it (run the deploy suite first)"; exit 1; }
  pass "setup: $node runs $node_rel (host: $host_rel): using the deployed package's /usr/bin/rdma-agent ($(on 60 "dpkg-query -W -f='\${Version}' rdma-agent" 2>/dev/null))"
else
  echo "agent-device.sh: pushing $(basename "$agent") and $(basename "$devtests") to $node"
  if "$LAB" push "$node" "$agent" /usr/local/bin/rdma-agent >/dev/null &&
     "$LAB" push "$node" "$devtests" /usr/local/bin/rdma-agent-device-tests >/dev/null; then
    pass "setup: binaries pushed to $node:/usr/local/bin"
  else
    fail "setup: push to $node"; exit 1
  fi
fi

echo "agent-device.sh: preparing $node (packages if missing: apt-get may take a few minutes)"
# The node side reads its script from stdin (quoted heredoc: no host-side expansion).
setup_out=$(on 900 env NETDEV="$netdev" FOREIGN="$foreign" bash -s <<'NODE'
set -u
pkgs=(libibverbs1 ibverbs-providers librdmacm1 libyaml-cpp0.7 libdw1 libelf1 rdma-core perftest)
# Another release: the deployed agent package brought its own libraries (t64 names on trixie).
[ "$FOREIGN" = 1 ] && pkgs=(ibverbs-providers rdma-core perftest)
missing=()
for p in "${pkgs[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/agent-device-apt.log 2>&1 ||
    { echo "ERROR apt-get install failed: $(tail -3 /tmp/agent-device-apt.log)"; exit 1; }
fi
modprobe rdma_rxe || { echo "ERROR modprobe rdma_rxe failed"; exit 1; }
if ! rdma link show 2>/dev/null | grep -q "netdev $NETDEV\b"; then
  rdma link add rxe0 type rxe netdev "$NETDEV" || { echo "ERROR rdma link add rxe0 on $NETDEV failed"; exit 1; }
  echo "created rxe0 on $NETDEV"
fi
# mlx4_core with log_num_mgm_entry_size=-1 configured and in effect.
state=/run/rdma-agent-e2e-mlx4
param=/sys/module/mlx4_core/parameters/log_num_mgm_entry_size
if ! grep -rqsE '^\s*options\s+mlx4_core\s.*log_num_mgm_entry_size=-1' /etc/modprobe.d/ /run/modprobe.d/ 2>/dev/null; then
  echo 'options mlx4_core log_num_mgm_entry_size=-1' > /etc/modprobe.d/zz-rdma-agent-e2e-mlx4.conf
  echo "our-file" >> "$state"
  echo "configured log_num_mgm_entry_size=-1 in /etc/modprobe.d/zz-rdma-agent-e2e-mlx4.conf"
fi
if [ "$(cat "$param" 2>/dev/null)" != "-1" ]; then
  if [ -e "$param" ]; then echo "was-loaded:$(cat "$param")" >> "$state"; modprobe -r mlx4_core || true
  else echo "was-unloaded" >> "$state"; fi
  modprobe mlx4_core || { echo "ERROR modprobe mlx4_core failed"; exit 1; }
fi
echo "in effect: log_num_mgm_entry_size=$(cat "$param" 2>/dev/null || echo absent)"
rdma link show
NODE
)
rc=$?
echo "$setup_out" | indent
# The Soft-RoCE device on the data NIC (rxe0 when we created it; the deploy playbook may name it).
rxe=$(echo "$setup_out" | sed -n "s|^link \([^/ ]*\)/1 state ACTIVE .*netdev $netdev *\$|\1|p" | head -1)
if [ $rc -eq 0 ] && [ -n "$rxe" ] && echo "$setup_out" | grep -q 'log_num_mgm_entry_size=-1$'; then
  pass "setup: $rxe ACTIVE on $netdev, mlx4_core loaded with -1 configured and in effect"
else
  fail "setup: node not ready (exit $rc)"; exit 1
fi

# --------------------------------------------------------------------------------------- device
if [ $foreign -eq 1 ]; then
  echo "NOTE device: rdma-agent-device-tests is built for $host_rel only (build/); not run on $node_rel"
else
echo "agent-device.sh: running rdma-agent-device-tests on $node"
dev_out=$(on 300 rdma-agent-device-tests --require-mlx4 --median-budget-us "$MEDIAN_BUDGET_US" --p99-budget-us "$P99_BUDGET_US")
rc=$?
echo "$dev_out" | indent
if [ $rc -eq 0 ]; then pass "device: rdma-agent-device-tests ($(echo "$dev_out" | grep -c '^PASS ') PASS lines)"
else fail "device: rdma-agent-device-tests exit $rc"; fi
fi

# ---------------------------------------------------------------------------------------- check
echo "agent-device.sh: rdma-agent check --format json on $node (latency budget median ${MEDIAN_BUDGET_US} us, p99 ${P99_BUDGET_US} us)"
# Host-side expansion of the budget (unquoted heredoc); the node runs the script from stdin.
json=$(on 300 bash -s <<NODE
set -e
mkdir -p /tmp/agent-e2e
cat > /tmp/agent-e2e/agent.yaml <<'YAML'
schema_version: 1
latency:
  enabled: true
  iters: 1000
  budget_us: {median: $MEDIAN_BUDGET_US, p99: $P99_BUDGET_US}
YAML
rdma-agent check --config /tmp/agent-e2e/agent.yaml --format json
NODE
)
rc=$?
verdict=$(printf '%s' "$json" | RXE="$rxe" /usr/bin/python3 -c '
import json, os, sys
try:
    doc = json.load(sys.stdin)
except Exception as e:
    print("FAIL check: output is not JSON: %s" % e); sys.exit(0)
checks = {c["name"]: c for c in doc.get("checks", [])}
def line(name, want, extra=None):
    c = checks.get(name)
    if c is None:
        print("FAIL check %s: missing from the report" % name); return
    ok = c["status"] == want and (extra is None or extra(c))
    print("%s check %s: %s (want %s): %s" % ("PASS" if ok else "FAIL", name, c["status"], want, c["message"]))
def verbs_bytes(c):
    return all(e["details"].get("bytes_verified", 0) > 0 for e in c["entities"]) and c["entities"]
def mcast(c):
    e = c["entities"][0]["details"]; return e.get("received") == e.get("sent") and e.get("lost") == 0
def lat(c):
    d = c["entities"][0]["details"]; return 0 < d["min_us"] <= d["median_us"] <= d["p99_us"] <= d["max_us"]
line("verbs", "pass", verbs_bytes)
line("multicast", "pass", mcast)
line("mlx4_steering", "pass")
line("latency", "pass", lat)
rxe = os.environ["RXE"]
line("flow_steering", "skip", lambda c: "unsupported by device %s" % rxe in c["message"])
')
echo "$verdict"
failed=$((failed + $(echo "$verdict" | grep -c '^FAIL')))
if [ $rc -gt 1 ]; then echo "    (rdma-agent check exit $rc)"; fi

# -------------------------------------------------------------------- latency --samples, --interval
# `latency --samples`: iters - 1 half round trips; the agent's own median of them (perftest's way:
# sorted, top 2 dropped) is the JSON's median_us. `check --interval --count 3`: three reports from
# one process, RC traffic in each, `rdma resource show` the same before and after.
out=$(on 300 env RXE="$rxe" bash -s <<'NODE'
set -u
before=$(rdma resource show)
rdma-agent latency --device "$RXE" --iters 300 --format json --samples /tmp/agent-e2e/samples.txt > /tmp/agent-e2e/lat.json 2>/dev/null \
  || { echo "FAIL latency --samples: exit $?"; exit 0; }
/usr/bin/python3 - <<'PY'
import json
j = json.load(open("/tmp/agent-e2e/lat.json"))
v = [float(x) for x in open("/tmp/agent-e2e/samples.txt").read().split()]
d = sorted(v); m = len(d) - 2
med = (d[m // 2] + d[m // 2 - 1]) / 2 if (m - 1) % 2 else d[m // 2]
ok = len(v) == j["iters"] - 1 and all(x > 0 for x in v) and abs(med - j["median_us"]) < 0.01 and abs(d[0] - j["min_us"]) < 0.01
print("%s latency --samples: %d samples (iters %d), their median %.3f us / min %.3f us, JSON median_us %.3f / min_us %.3f" % (
    "PASS" if ok else "FAIL", len(v), j["iters"], med, d[0], j["median_us"], j["min_us"]))
PY
rdma-agent check --only verbs --format json --interval 0.2 --count 3 > /tmp/agent-e2e/loop.json 2>/dev/null; rc=$?
n=$(grep -c '"schema_version"' /tmp/agent-e2e/loop.json)
pv=$(grep -c '"bytes_verified": [1-9]' /tmp/agent-e2e/loop.json)
after=$(rdma resource show)
if [ "$rc" -eq 0 ] && [ "$n" -eq 3 ] && [ "$pv" -ge 3 ] && [ "$after" = "$before" ]; then
  echo "PASS check --interval 0.2 --count 3: 3 reports from one process, verbs traffic verified in each; rdma resource show as before: $after"
else echo "FAIL check --interval --count 3: exit $rc, $n reports, $pv with bytes verified; resources before: $before | after: $after"; fi
NODE
)
echo "$out"
if [ "$(echo "$out" | grep -c '^PASS')" -ne 2 ] || echo "$out" | grep -q '^FAIL'; then failed=$((failed+1)); fi

# -------------------------------------------------------------------------------------- restore
on 120 bash -s <<'NODE' | indent
state=/run/rdma-agent-e2e-mlx4
[ -f "$state" ] || exit 0
if grep -q our-file "$state"; then rm -f /etc/modprobe.d/zz-rdma-agent-e2e-mlx4.conf; echo "removed our mlx4_core option file"; fi
if grep -q was-unloaded "$state"; then modprobe -r mlx4_core && echo "mlx4_core unloaded again"
elif grep -q was-loaded "$state"; then modprobe -r mlx4_core && modprobe mlx4_core && echo "mlx4_core reloaded with the node's own options"; fi
rm -f "$state"
NODE

if [ $failed -eq 0 ]; then echo "PASS agent-device.sh"; exit 0; fi
echo "FAIL agent-device.sh: $failed step(s) failed"; exit 1
