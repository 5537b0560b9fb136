#!/usr/bin/env bash
# Lab proof of the vendor bundle stack with the MLNX_OFED TEST DOUBLE (tests/bundle/double) on a
# running 1-node bookworm lab (env LAB, LAB_INVENTORY: lab/with-lab --nodes 1 -- tests/bundle/lab.sh).
#   0. the bundle is built for the node's kernel (uname -r) by make-bundle.sh
#   1. inbox deploy (deploy-rdma.yml), node state + agent verdict recorded
#   2. check mode with rdma_stack=mofed changes nothing
#   (env BUNDLE_SKIP_INBOX=1: the node already runs the deployed inbox stack; BUNDLE_CHECK=0: no step 2)
#   3. for each exit code (BUNDLE_CODES, default "1 2 22 28 171 172 173"): the installer fails
#      (fault injected through rdma_bundle_installer_env), the deploy says the code's message, the
#      host is rolled back: node state identical to 1 (dpkg -W, sha256 of /etc, lsmod), agent verdict as before
#   4. the install: agent stack check reports MLNX_OFED <ver>, rdma_rxe from updates/dkms, verbs +
#      multicast pass
# Exit 0 all passed, 1 a step failed, 77 no lab.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
if [ -z "${LAB:-}" ] || [ -z "${LAB_INVENTORY:-}" ]; then
  echo "SKIP  bundle lab: no running lab (run it through lab/with-lab --nodes 1)"; exit 77
fi
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh
failed=0
work=$(mktemp -d /tmp/bundle-lab.XXXXXX)
node=$(lab_nodes | head -1)
VER=${BUNDLE_VERSION:-24.10-0.9.9.9}
codes=${BUNDLE_CODES:-1 2 22 28 171 172 173}
t() { date +%s; }
T0=$(t)
kver=$("$LAB" ssh "$node" uname -r) || { fail "ssh $node"; exit 1; }
say "0. bundle for $node's kernel $kver"
tests/bundle/double/make-bundle.sh --version "$VER" --kernel "$kver" > "$work/make.log" 2>&1 \
  || { fail "make-bundle.sh (see below)"; tail -20 "$work/make.log"; exit 1; }
tgz=$(ls "$PWD"/build-bundle/MLNX_OFED_LINUX-"$VER"-debian12.x-x86_64-TEST-DOUBLE.tgz)
sum=sha256:$(sha256sum "$tgz" | cut -d' ' -f1)
pass "bundle $(basename "$tgz") $sum"
# mofed is not in preflight's list of implemented stacks yet (roles/rdma_preflight/vars, the lead's).
mofed=(-e rdma_stack=mofed -e "rdma_stack_version=$VER" -e "rdma_stack_bundle_url=$tgz" -e "rdma_stack_bundle_checksum=$sum"
       -e '{"_rdma_preflight_stacks_implemented": ["inbox", "kernel", "mofed"]}')
play() { ansible-playbook -i "$LAB_INVENTORY" deploy-rdma.yml "$@"; }
verdict() { agent_statuses "$node"; }   # tests/e2e/lib.sh

if [ "${BUNDLE_SKIP_INBOX:-0}" = 1 ]; then
  say "1. inbox deploy: skipped (BUNDLE_SKIP_INBOX=1: the node is already on the deployed inbox stack)"
else
  say "1. inbox deploy"
  s=$(t); play > "$work/inbox.log" 2>&1; rc=$?
  if [ $rc -eq 0 ]; then pass "inbox deploy ($(( $(t) - s )) s)"; else fail "inbox deploy rc $rc"; tail -30 "$work/inbox.log"; exit 1; fi
fi
node_state "$node" "$work/inbox.state"; verdict > "$work/inbox.verdict"
say "   agent verdict (inbox): $(tr '\n' ' ' < "$work/inbox.verdict")"

if [ "${BUNDLE_CHECK:-1}" = 1 ]; then
say "2. check mode, rdma_stack=mofed"
s=$(t); play --check "${mofed[@]}" > "$work/check.log" 2>&1; rc=$?
node_state "$node" "$work/check.state"
if [ $rc -eq 0 ]; then pass "check mode rc 0 ($(( $(t) - s )) s)"; else fail "check mode rc $rc"; grep -E 'fatal|FAILED' "$work/check.log" | head -5; fi
same_state "$work/inbox.state" "$work/check.state" "$node" "after --check with mofed"
else say "2. check mode: skipped (BUNDLE_CHECK=0)"; fi

declare -A want=([1]='installation failed \(exit 1\)' [2]='no firmware was found' [22]='invalid parameter \(exit 22\)'
  [28]='not enough free space \(exit 28\)' [171]='not applicable to this system \(exit 171\)'
  [172]='prerequisites are missing \(exit 172\)' [173]='failed to start the mst driver \(exit 173\)')
n=0
for code in $codes; do
  n=$((n + 1))
  say "3.$n injected installer exit $code"
  extra=()
  # 2 and 173 happen at the firmware step: only without --without-fw-update
  case $code in 2|173) extra=(-e '{"rdma_bundle_install_options": []}') ;; esac
  s=$(t); play "${mofed[@]}" "${extra[@]}" -e "{\"rdma_bundle_installer_env\": {\"MLNX_DOUBLE_EXIT\": \"$code\"}}" > "$work/rc$code.log" 2>&1; rc=$?
  el=$(( $(t) - s ))
  node_state "$node" "$work/rc$code.state"; verdict > "$work/rc$code.verdict"
  if [ $rc -ne 0 ] && grep -Eq "${want[$code]}" "$work/rc$code.log" && grep -q 'rolled back to snapshot' "$work/rc$code.log"; then
    pass "exit $code: message + rolled back ($el s): $(grep -oE 'rolled back to snapshot [^.]*in [0-9.]+ s' "$work/rc$code.log" | head -1)"
  else
    fail "exit $code: rc $rc, message or rollback missing"; grep -E 'fatal|msg' "$work/rc$code.log" | tail -5
  fi
  same_state "$work/inbox.state" "$work/rc$code.state" "$node" "after exit $code"
  if diff -q "$work/inbox.verdict" "$work/rc$code.verdict" >/dev/null; then pass "agent verdict as before"; else fail "agent verdict differs"; diff "$work/inbox.verdict" "$work/rc$code.verdict"; fi
done

say "4. install the bundle (double)"
s=$(t); play "${mofed[@]}" > "$work/mofed.log" 2>&1; rc=$?
if [ $rc -eq 0 ]; then pass "mofed deploy ($(( $(t) - s )) s)"; else fail "mofed deploy rc $rc"; grep -E 'fatal|msg' "$work/mofed.log" | tail -8; fi
"$LAB" ssh "$node" 'ofed_info -s; modinfo -n rdma_rxe; grep -c . /proc/modules >/dev/null; cat /sys/module/rdma_rxe/version; rdma-agent check --format json' > "$work/mofed.out" 2>&1
head -3 "$work/mofed.out"
if grep -qx "MLNX_OFED_LINUX-$VER:" "$work/mofed.out"; then pass "ofed_info -s"; else fail "ofed_info -s"; fi
if grep -q "/updates/dkms/rdma_rxe.ko" "$work/mofed.out"; then pass "rdma_rxe from updates/dkms"; else fail "rdma_rxe not from updates/dkms"; fi
if /usr/bin/python3 - "$work/mofed.out" "$VER" <<'PY'; then pass "agent: stack MLNX_OFED $VER, verbs and multicast pass"; else fail "agent verdict after the install"; fi
import json, sys
t = open(sys.argv[1]).read(); d = json.loads(t[t.index("{"):])
cs = d.get("checks", d)
items = cs if isinstance(cs, list) else [dict(v, name=k) for k, v in cs.items()]
by = {c.get("name"): c for c in items}
for n in ("stack", "verbs", "multicast"):
    print("   ", n, by.get(n, {}).get("status"), (by.get(n, {}).get("message") or "")[:120])
ok = all(by.get(n, {}).get("status") == "pass" for n in ("stack", "verbs", "multicast"))
ok = ok and ("MLNX_OFED" in json.dumps(by.get("stack"))) and sys.argv[2] in json.dumps(by.get("stack"))
sys.exit(0 if ok else 1)
PY
say "bundle lab: $(( $(t) - T0 )) s in all; logs in $work"
[ $failed -eq 0 ] && echo "bundle lab: PASS" || echo "bundle lab: FAIL"
exit $failed
