#!/usr/bin/env bash
# ABI guard on a lab node (one node, read-only):
#   RDMA_LAB=abi lab/with-lab --nodes 1 -- tests/abi-guard/lab.sh
# Pushes a test binary importing ibv_reg_dmabuf_mr@IBVERBS_1.12 (rdma-core 34+) to node1, then runs
# playbooks/abi-guard.yml against the node: derived target (bookworm, inbox -> debian-12) must
# pass; with the debian-11 manifest it must stop naming the symbol. The node's state (dpkg
# database, /etc, the pushed files) must be identical before and after. Exit 0 pass, 1 fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LAB:?run under lab/with-lab}" "${LAB_INVENTORY:?run under lab/with-lab}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gcc -O2 -g0 -o "$tmp/new_verbs" agent/tests/abi/new_verbs.c -libverbs && strip "$tmp/new_verbs"
"$LAB" ssh node1 'mkdir -p /tmp/abi-app'
"$LAB" push node1 "$tmp/new_verbs" /tmp/abi-app/new_verbs
state() { "$LAB" ssh node1 'md5sum /var/lib/dpkg/status; find /etc /tmp/abi-app -xdev -printf "%p %s %T@\n" 2>/dev/null | sort | md5sum; ls -l /tmp/abi-app'; }
before=$(state)
fail=0
vars='{"rdma_protected_binaries": ["/tmp/abi-app/*", "/usr/bin/ibv_devinfo", "/opt/absent/*"]}'
echo "lab: run 1: target derived from the node (bookworm, inbox -> debian-12): must pass"
t0=$(date +%s.%N)
if ansible-playbook -i "$LAB_INVENTORY" playbooks/abi-guard.yml -e "$vars" | tee "$tmp/run1.log"; then
  echo "lab: run 1 passed ($(echo "$(date +%s.%N) - $t0" | bc) s)"
else echo "lab: FAIL run 1 refused"; fail=1; fi
grep -q "scanned against debian-12" "$tmp/run1.log" || { echo "lab: FAIL run 1: no debian-12 summary"; fail=1; }
grep -q "no file matches .*/opt/absent/\*" "$tmp/run1.log" || { echo "lab: FAIL run 1: unmatched glob not reported"; fail=1; }
echo "lab: run 2: rdma_abi_guard_manifest=manifests/debian-11.json: must stop naming the symbol"
t0=$(date +%s.%N)
if ansible-playbook -i "$LAB_INVENTORY" playbooks/abi-guard.yml -e "$vars" \
     -e rdma_abi_guard_manifest="$PWD/manifests/debian-11.json" > "$tmp/run2.log"; then
  echo "lab: FAIL run 2 passed"; fail=1
else
  echo "lab: run 2 refused ($(echo "$(date +%s.%N) - $t0" | bc) s)"
fi
grep -E "fatal|scanned against" "$tmp/run2.log" || true
grep -q "/tmp/abi-app/new_verbs: imports ibv_reg_dmabuf_mr@IBVERBS_1.12" "$tmp/run2.log" \
  || { echo "lab: FAIL run 2: finding not listed"; fail=1; }
after=$(state)
if [ "$before" = "$after" ]; then echo "lab: node state unchanged (dpkg status, /etc, pushed files)"
else echo "lab: FAIL node state changed"; diff <(echo "$before") <(echo "$after") || true; fail=1; fi
exit $fail
