#!/usr/bin/env bash
# End-to-end suite for the transactional deploy (issue 5) on a running lab (env LAB, RDMA_LAB,
# LAB_INVENTORY from lab/with-lab). Faults are injected through ordinary variables and test-only
# files on the node; the deploy runs its production path unchanged. Each fault ends with the node
# on its previous stack: dpkg-query -W, sha256 of every file under /etc and lsmod identical to
# before, the agent's verdict the same, and the time to recover printed.
#
#   TXN_FAULTS="gate package"   (default, make test)   TXN_FAULTS=all   (make e2e-full)
#   gate       the health gate fails after a good install (flow steering required; rxe has none) on
#              the first node of a deployed pair; the second node, same run, must be unaffected
#   serial     a rolling deploy (rdma_deploy_serial=1, max_fail_percentage=0) whose first batch fails
#              (the gate fault on the first node) stops before the second node's batch starts
#   manual     playbooks/rollback.yml takes the second node back to its pre-deploy snapshot
#   package    a package install that fails halfway (a package whose postinst fails, from a
#              test repository, installed with the stack) on the now fresh second node
#   initramfs  the initramfs rebuild fails (a test hook that refuses the new module options)
#   kill       the control node is killed mid-transaction; the next run finishes it
#   reboot     the node is hard-reset while packages are being installed; the next run, with
#              rdma_txn_interrupted=rollback, rolls it back
# (Fault 4 of the issue, a trial kernel that panics or hangs, needs the kernel stack: not here.)
# Exit 0 all passed, 1 a step failed, 77 no lab to run on.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

if [ -z "${LAB:-}" ] || [ -z "${LAB_INVENTORY:-}" ] || [ ! -e "${LAB_INVENTORY}/hosts.yml" ]; then
  echo "SKIP  txn e2e: no running lab (LAB / LAB_INVENTORY unset; run it through lab/with-lab)"
  exit 77
fi
faults=${TXN_FAULTS:-gate manual package}
[ "$faults" = all ] && faults="gate serial manual package initramfs kill manual reboot"
work=$(mktemp -d /tmp/txn-e2e.XXXXXX)
mapfile -t nodes < <(lab_nodes)
if [ ${#nodes[@]} -eq 0 ]; then fail "no hosts in $LAB_INVENTORY"; exit 1; fi
# With one node (development), B is A and the "other host unaffected" check cannot run (said).
A=${nodes[0]} B=${nodes[1]:-${nodes[0]}}
say "lab '${RDMA_LAB:-default}': $A $B; faults: $faults"
TXN="python3 /var/lib/rdma-deploy/bin/rdma-txn"
play() { ansible-playbook -i "$LAB_INVENTORY" "$@"; }
journal() { "$LAB" ssh "$1" "$TXN journal show" 2>/dev/null | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d.get('$2', ''))" 2>/dev/null; }
recovered_in() { grep -oE "rolled back to snapshot [0-9TZ]+ in [0-9.]+ s" "$1" | head -n1; }
fault_inventory() {  # fault_inventory FILE HOST YAML-VARS: an extra inventory source with HOST's fault vars
  printf 'all:\n  hosts:\n    %s:\n' "$2" > "$1"
  local line
  while IFS= read -r line; do printf '      %s\n' "$line"; done <<<"$3" >> "$1"
}

# Both nodes deployed and committed (the deploy suite leaves them so; deploy here otherwise).
ensure_deployed() {
  local need=0 n
  for n in "$@"; do [ "$(journal "$n" state)" = committed ] || need=1; done
  [ $need -eq 0 ] && return 0
  say "deploying $* first (not all deployed and committed)"
  play deploy-rdma.yml -l "$(IFS=,; echo "$*")" > "$work/predeploy.log" 2>&1 \
    || { fail "deploy before the faults failed"; grep -E -A3 'fatal|FAILED' "$work/predeploy.log" | head -30; return 1; }
}

# A rollback must leave the node exactly as before: state files and the agent's verdict.
check_restored() {  # check_restored NODE TAG LOG WHAT
  local n=$1 tag=$2 log=$3 what=$4 v
  node_state "$n" "$work/$tag.after"
  same_state "$work/$tag.before" "$work/$tag.after" "$n" "$what"
  v=$(agent_statuses "$n")
  if [ "$v" = "$(cat "$work/$tag.verdict")" ]; then
    pass "$what: $n: agent verdict as before: $v"
  else
    fail "$what: $n: agent verdict before: $(cat "$work/$tag.verdict") | after: $v"
  fi
  # The transaction of this run (a snapshot other than the one open before it) was rolled back.
  if [ "$(journal "$n" state)" = rolled-back ] && [ "$(journal "$n" snapshot)" != "$(cat "$work/$tag.snapshot")" ]; then
    pass "$what: $n: transaction $(journal "$n" snapshot) closed as rolled-back; $(recovered_in "$log")"
  else
    fail "$what: $n: journal: transaction $(journal "$n" snapshot) $(journal "$n" state) (want a new one, rolled-back)"
  fi
}
before() {  # before NODE TAG
  journal "$1" snapshot > "$work/$2.snapshot"
  node_state "$1" "$work/$2.before" && agent_statuses "$1" > "$work/$2.verdict"
}

fault_gate() {
  say "fault 2: the health gate fails after a good install on $A; $B in the same run unaffected"
  ensure_deployed "$A" "$B" || return
  before "$A" gate; [ "$B" != "$A" ] && before "$B" gate-b
  fault_inventory "$work/gate.yml" "$A" "rdma_agent_flow_steering_required: true"
  local t0 rc; t0=$(date +%s)
  play -i "$work/gate.yml" deploy-rdma.yml > "$work/gate.log" 2>&1; rc=$?
  echo "      run: exit $rc in $(( $(date +%s) - t0 )) s; recap: $(recap_changed "$work/gate.log")"
  if [ $rc -ne 0 ] && grep -q "$A: deploy failed and was rolled back to snapshot" "$work/gate.log" \
     && grep -q "First cause: Gate: failing checks: $A: flow_steering failed" "$work/gate.log"; then
    pass "gate: $A failed with its first cause: $(grep -o "First cause: Gate: failing checks: $A: flow_steering failed[^\"]*" "$work/gate.log" | head -n1 | cut -c1-160)"
  else
    fail "gate: $A not failed and rolled back as expected (exit $rc)"; grep -E 'fatal|FAILED|First cause' "$work/gate.log" | head -20
  fi
  check_restored "$A" gate "$work/gate.log" "gate"
  if [ "$B" = "$A" ]; then echo "NOTE  gate: one node only: the unaffected-host check needs a second node"; return; fi
  if [ "$(recap_field "$work/gate.log" "$B" failed)" = 0 ] && [ "$(recap_field "$work/gate.log" "$B" rescued)" = 0 ] \
     && [ "$(journal "$B" state)" = committed ]; then
    pass "gate: $B in the same run: failed=0 rescued=0, journal committed"
  else
    fail "gate: $B affected: failed=$(recap_field "$work/gate.log" "$B" failed) rescued=$(recap_field "$work/gate.log" "$B" rescued), journal $(journal "$B" state)"
  fi
  node_state "$B" "$work/gate-b.after"; same_state "$work/gate-b.before" "$work/gate-b.after" "$B" "gate (unaffected host)"
}

fault_serial() {
  say "rolling deploy: batch 1 ($A) fails its gate, so batch 2 ($B) never starts"
  if [ "$B" = "$A" ]; then echo "NOTE  serial: needs a second node"; return; fi
  ensure_deployed "$A" "$B" || return
  local b_sid rc
  b_sid=$(journal "$B" snapshot); before "$A" serial
  fault_inventory "$work/serial.yml" "$A" "rdma_agent_flow_steering_required: true"
  play -i "$work/serial.yml" -e rdma_deploy_serial=1 -e rdma_deploy_max_fail_percentage=0 deploy-rdma.yml > "$work/serial.log" 2>&1; rc=$?
  if [ $rc -ne 0 ] && grep -q "$A: deploy failed and was rolled back" "$work/serial.log" \
     && [ "$(journal "$B" snapshot)" = "$b_sid" ] && [ "$(recap_field "$work/serial.log" "$B" failed)" = 0 ]; then
    pass "serial: $A rolled back in batch 1; the rollout stopped: $B had no transaction (journal still $b_sid)"
  else
    fail "serial: exit $rc; $B journal $(journal "$B" snapshot) (was $b_sid)"; grep -E 'PLAY \[|fatal|First cause' "$work/serial.log" | head -20
  fi
  check_restored "$A" serial "$work/serial.log" "serial"
}

# playbooks/rollback.yml: B back to the snapshot taken before its first deploy (no agent then).
fault_manual() {
  say "rollback by hand: playbooks/rollback.yml takes $B back to its pre-deploy snapshot"
  local sid rc t0
  # Run first (TXN_FAULTS="manual ..."), it needs the deployed node the earlier faults leave.
  ensure_deployed "$B" || return
  sid=$("$LAB" ssh "$B" "$TXN list" 2>/dev/null | "$PY" -c '
import json,sys
s=[x for x in json.load(sys.stdin)["snapshots"] if not x["verdict"].get("agent")]
print(s[-1]["id"] if s else "")')
  if [ -z "$sid" ]; then fail "manual: $B has no snapshot from before a deploy"; return; fi
  # The periodic check killed mid-run leaves rdma-agent.service "failed" (CI of 2026-11-29 met it
  # by chance: the timer's run was stopped by the rollback). systemd keeps that record after the
  # unit file is gone; the rollback must clear it, as the node before the deploy had none.
  # shellcheck disable=SC2016 # expanded by the node's shell
  "$LAB" ssh "$B" 'systemctl start --no-block rdma-agent.service
    for i in $(seq 200); do [ "$(systemctl is-active rdma-agent.service)" = activating ] && break; sleep 0.02; done
    systemctl kill -s KILL rdma-agent.service; sleep 1; systemctl is-active rdma-agent.service' > "$work/manual.pre" 2>&1
  say "before the rollback: rdma-agent.service $(tail -1 "$work/manual.pre")"
  t0=$(date +%s)
  play playbooks/rollback.yml -l "$B" -e "snapshot=$sid" > "$work/manual.log" 2>&1; rc=$?
  if [ $rc -eq 0 ] && grep -q "$B: restored to snapshot $sid" "$work/manual.log"; then
    pass "manual: rollback.yml -e snapshot=$sid: exit 0 in $(( $(date +%s) - t0 )) s"
  else
    fail "manual: rollback.yml exit $rc"; grep -E 'fatal|FAILED|NOT restored|state vs' "$work/manual.log" | head -20
  fi
  # Independent of rdma-txn's own diff: the package list now vs the one recorded in the snapshot.
  # shellcheck disable=SC2016 # expanded by the node's shell
  if "$LAB" ssh "$B" "dpkg-query -W -f='\${binary:Package} \${Version}\n' | sort > /tmp/pk.now;
      python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(\"\n\".join(sorted(\"%s %s\" % (k, v[\"version\"]) for k, v in d[\"packages\"].items())))' \
        /var/lib/rdma-deploy/snapshots/$sid/state.json > /tmp/pk.snap; diff /tmp/pk.snap /tmp/pk.now" > "$work/manual.diff" 2>&1 \
     && ! "$LAB" ssh "$B" 'command -v rdma-agent || ls /sys/class/infiniband/* || grep -qE "^(rdma_rxe|ib_uverbs|ib_core) " /proc/modules' >/dev/null 2>&1; then
    pass "manual: $B: installed packages identical to snapshot $sid ($("$LAB" ssh "$B" 'wc -l < /tmp/pk.now' 2>/dev/null) packages); no agent, no RDMA device, no RDMA module loaded"
  else
    fail "manual: $B not back to its pre-deploy state: $(head -c 600 "$work/manual.diff")"
  fi
  # The account files byte for byte as the snapshot kept them (libibverbs1's postinst adds group
  # rdma, which a purge leaves behind; rdma-txn takes it back when nothing owns it).
  # shellcheck disable=SC2016 # expanded by the node's shell
  acc=$("$LAB" ssh "$B" 'a=/var/lib/rdma-deploy/snapshots/'"$sid"'/accounts.tar; [ -f "$a" ] || { echo "no accounts.tar"; exit 0; }
    for f in $(tar -tf "$a"); do tar -xOf "$a" "$f" | cmp -s - "/$f" && echo "same /$f" || echo "DIFFERS /$f"; done' 2>&1)
  if [ -n "$acc" ] && ! grep -qv '^same ' <<<"$acc"; then
    pass "manual: $B: $(grep -c '^same ' <<<"$acc") account files (passwd, group, shadow, gshadow and backups) byte-identical to the snapshot's"
  else
    fail "manual: $B: account files vs the snapshot: $(tr '\n' ' ' <<<"$acc")"
  fi
}

# A package whose postinst fails, served by a file: repository on the node (test fixture only).
make_fault_repo() {  # make_fault_repo NODE
  local d=$work/repo
  mkdir -p "$d/pkg/DEBIAN"
  cat > "$d/pkg/DEBIAN/control" <<'EOF'
Package: rdma-fault-postinst
Version: 1.0
Architecture: all
Maintainer: rdma-deploy tests <root@localhost>
Depends: rdma-core, ibverbs-providers
Description: rdma-deploy test fixture: a package whose configuration fails
 Installed together with the RDMA stack by the transaction suite, it makes the
 package install fail halfway: its dependencies are configured, it is not.
EOF
  printf '#!/bin/sh\necho "rdma-fault-postinst: failing on purpose (rdma-deploy fault test)" >&2\nexit 1\n' > "$d/pkg/DEBIAN/postinst"
  chmod 0755 "$d/pkg/DEBIAN/postinst"
  dpkg-deb --root-owner-group -b "$d/pkg" "$d/rdma-fault-postinst_1.0_all.deb" >/dev/null || return 1
  (cd "$d" && dpkg-scanpackages -m . /dev/null 2>/dev/null > Packages) || return 1
  "$LAB" ssh "$1" 'mkdir -p /srv/rdma-fault-repo' && "$LAB" push "$1" "$d/rdma-fault-postinst_1.0_all.deb" /srv/rdma-fault-repo/ \
    && "$LAB" push "$1" "$d/Packages" /srv/rdma-fault-repo/Packages \
    && "$LAB" ssh "$1" 'echo "deb [trusted=yes] file:/srv/rdma-fault-repo ./" > /etc/apt/sources.list.d/rdma-fault-test.list && apt-get update -q >/dev/null'
}
drop_fault_repo() {
  "$LAB" ssh "$1" 'rm -rf /srv/rdma-fault-repo /etc/apt/sources.list.d/rdma-fault-test.list; apt-get update -q >/dev/null' >/dev/null 2>&1
}

fault_package() {
  say "fault 1: a package install that fails halfway on $B"
  make_fault_repo "$B" || { fail "package: could not set up the test repository on $B"; return; }
  before "$B" package
  # On a fresh node (after the manual fault) the stack's own packages go in with it and must be
  # purged too; on a deployed node only the fault package is new.
  local want_purged=2
  # shellcheck disable=SC2016 # expanded by the node's shell
  [ "$(journal "$B" state)" = committed ] && [ "$("$LAB" ssh "$B" 'dpkg-query -W -f="\${db:Status-Status}" rdma-core' 2>/dev/null)" = installed ] && want_purged=1
  fault_inventory "$work/package.yml" "$B" "rdma_stack_extra_packages: [rdma-fault-postinst]"
  local rc t0; t0=$(date +%s)
  play -i "$work/package.yml" -l "$B" deploy-rdma.yml > "$work/package.log" 2>&1; rc=$?
  echo "      run: exit $rc in $(( $(date +%s) - t0 )) s"
  local purged
  purged=$(grep -oE "packages purged: [0-9]+" "$work/package.log" | head -n1)
  if [ $rc -ne 0 ] && grep -q "$B: deploy failed and was rolled back" "$work/package.log" \
     && grep -q "First cause: Inbox: install the missing packages.*processing: rdma-fault-postinst" "$work/package.log" \
     && [ "${purged##* }" -ge "$want_purged" ] 2>/dev/null; then
    pass "package: install failed halfway and was rolled back ($purged$([ "$want_purged" -gt 1 ] && echo ", incl. the stack's packages already configured")); cause: $(grep -o 'First cause: Inbox: install[^"]*' "$work/package.log" | head -n1 | cut -c1-300)"
  else
    fail "package: not failed and rolled back as expected (exit $rc, ${purged:-no purge count})"; grep -E 'fatal|FAILED|First cause|purged' "$work/package.log" | head -20
  fi
  check_restored "$B" package "$work/package.log" "package"
  drop_fault_repo "$B"
}

fault_initramfs() {
  say "fault 3: the initramfs rebuild fails on $B"
  # The test hook fails only while the deploy's module options are in place, as a real breakage
  # caused by the new configuration would; mlx4_core forced into the initramfs makes the deploy
  # rebuild it (rdma_params_initramfs=always).
  cat > "$work/zz-rdma-fault-test" <<'EOF'
#!/bin/sh
# rdma-deploy fault test: refuse to build an initramfs with the deploy's module options.
[ "$1" = prereqs ] && exit 0
if grep -qs log_num_mgm_entry_size /etc/modprobe.d/rdma-deploy.conf; then
  echo "rdma fault test: initramfs hook refuses the new options" >&2
  exit 1
fi
exit 0
EOF
  if ! { "$LAB" push "$B" "$work/zz-rdma-fault-test" /etc/initramfs-tools/hooks/zz-rdma-fault-test \
         && "$LAB" ssh "$B" 'chmod 0755 /etc/initramfs-tools/hooks/zz-rdma-fault-test;
              grep -qx mlx4_core /etc/initramfs-tools/modules || echo mlx4_core >> /etc/initramfs-tools/modules'; }; then
    fail "initramfs: could not set up the hook on $B"; return
  fi
  # MODULES=dep keeps the (failing) rebuild to a few minutes under TCG instead of ~13 with "most".
  "$LAB" ssh "$B" 'echo MODULES=dep > /etc/initramfs-tools/conf.d/rdma-fault-test.conf' >/dev/null 2>&1
  before "$B" initramfs
  local rc t0; t0=$(date +%s)
  # A value other than the deployed one, so that the options file changes on a node deployed
  # before (the rebuild runs only when it changed).
  play -l "$B" -e rdma_params_initramfs=always -e '{"rdma_params_mlx4_log_num_mgm_entry_size": 10}' deploy-rdma.yml \
    > "$work/initramfs.log" 2>&1; rc=$?
  echo "      run: exit $rc in $(( $(date +%s) - t0 )) s"
  if [ $rc -ne 0 ] && grep -q "$B: deploy failed and was rolled back" "$work/initramfs.log" \
     && grep -q "First cause: Initramfs: rebuild" "$work/initramfs.log"; then
    pass "initramfs: the failed rebuild was rolled back: $(grep -o 'First cause: Initramfs: rebuild[^"]*' "$work/initramfs.log" | head -n1 | cut -c1-140)"
  else
    fail "initramfs: not failed and rolled back as expected (exit $rc)"; grep -E 'fatal|FAILED|First cause' "$work/initramfs.log" | head -20
  fi
  check_restored "$B" initramfs "$work/initramfs.log" "initramfs"
  "$LAB" ssh "$B" 'rm -f /etc/initramfs-tools/hooks/zz-rdma-fault-test /etc/initramfs-tools/conf.d/rdma-fault-test.conf;
    sed -i "/^mlx4_core$/d" /etc/initramfs-tools/modules' >/dev/null 2>&1
}

# The journal of a transaction this run opened (an earlier one's phase must not count).
# shellcheck disable=SC2016 # expanded by the node's shell
in_progress='grep -q "\"state\": \"in-progress\"" /var/lib/rdma-deploy/txn/journal.json'
# The background run is a child of start_and_wait's subshell, not of this shell: poll it.
wait_gone() { while kill -0 "$1" 2>/dev/null; do sleep 2; done; }
# Runs the deploy on B in the background (own process group) and waits for WHEN (a shell test on
# the node) to hold; prints the pid. Used to interrupt a run at a known point.
start_and_wait() {  # start_and_wait LOG WHEN TIMEOUT
  # shellcheck disable=SC2016 # expanded by the inner shell
  # Its own stdout and stderr away from ours: this function runs inside $(...), which would wait
  # for every holder of its pipe (the whole run) to finish.
  setsid bash -c 'ansible-playbook -i "$LAB_INVENTORY" -l "$1" deploy-rdma.yml > "$2" 2>&1; echo $? > "$2.rc"' _ "$B" "$1" \
    > /dev/null 2>&1 < /dev/null &
  local pid=$! i
  for i in $(seq 1 "$3"); do
    if "$LAB" ssh "$B" "$2" >/dev/null 2>&1; then echo "$pid"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "$pid"; return 1; }
    [ $((i % 15)) -eq 0 ] && echo "      waiting for: $2 ($((i * 2)) s)" >&2
    sleep 2
  done
  echo "$pid"; return 1
}

fault_kill() {
  say "fault 5: the control node is killed mid-transaction on $B; the next run finishes it"
  local pid sid rc
  # shellcheck disable=SC2016 # expanded by the node's shell
  if ! pid=$(start_and_wait "$work/kill1.log" "$in_progress"' && grep -qE "\"phase\": \"(params|agent)\"" /var/lib/rdma-deploy/txn/journal.json' 400); then
    fail "kill: the run never reached the params/agent phase (pid $pid)"; tail -20 "$work/kill1.log"; kill -9 -- "-$pid" 2>/dev/null; return
  fi
  kill -9 -- "-$pid" 2>/dev/null; wait_gone "$pid"
  sid=$(journal "$B" snapshot)
  if [ "$(journal "$B" state)" = in-progress ]; then
    pass "kill: ansible-playbook killed (SIGKILL) in phase $(journal "$B" phase): journal in-progress, snapshot $sid"
  else
    fail "kill: journal state '$(journal "$B" state)' after the kill"
  fi
  local t0; t0=$(date +%s)
  play -l "$B" deploy-rdma.yml > "$work/kill2.log" 2>&1; rc=$?
  if [ $rc -eq 0 ] && grep -q "resuming its transaction with snapshot $sid" "$work/kill2.log" \
     && [ "$(journal "$B" state)" = committed ] && [ "$(journal "$B" snapshot)" = "$sid" ]; then
    pass "kill: next run resumed transaction $sid and committed it (exit 0 in $(( $(date +%s) - t0 )) s); agent: $(agent_statuses "$B")"
  else
    fail "kill: next run (exit $rc), journal $(journal "$B" state) $(journal "$B" snapshot)"; grep -E 'fatal|FAILED|resum' "$work/kill2.log" | head -20
  fi
}

fault_reboot() {
  say "fault 6: $B hard-reset while packages are being installed; the next run rolls it back"
  before "$B" reboot
  local pid rc t0
  # shellcheck disable=SC2016 # expanded by the node's shell
  if ! pid=$(start_and_wait "$work/reboot1.log" "$in_progress"' && grep -q "\"phase\": \"install\"" /var/lib/rdma-deploy/txn/journal.json && pgrep -x dpkg' 400); then
    fail "reboot: never caught dpkg running in the install phase"; tail -20 "$work/reboot1.log"; kill -9 -- "-$pid" 2>/dev/null; return
  fi
  t0=$(date +%s)
  "$LAB" reset "$B" > "$work/reset.log" 2>&1 || { fail "reboot: lab reset $B failed"; return; }
  wait_gone "$pid"; rc=$(cat "$work/reboot1.log.rc" 2>/dev/null || echo "?")
  "$LAB" ssh "$B" 'timeout 300 systemctl is-system-running --wait' >/dev/null 2>&1
  echo "      $B reset during dpkg, back in $(( $(date +%s) - t0 )) s; interrupted run exit $rc; journal $(journal "$B" state) in phase $(journal "$B" phase)"
  play -l "$B" -e rdma_txn_interrupted=rollback deploy-rdma.yml > "$work/reboot2.log" 2>&1; rc=$?
  if [ $rc -ne 0 ] && grep -q "$B: deploy failed and was rolled back" "$work/reboot2.log" \
     && grep -q "interrupted in phase install" "$work/reboot2.log"; then
    pass "reboot: next run rolled the interrupted transaction back (rdma_txn_interrupted=rollback)"
  else
    fail "reboot: next run (exit $rc)"; grep -E 'fatal|FAILED|First cause|interrupted' "$work/reboot2.log" | head -20
  fi
  check_restored "$B" reboot "$work/reboot2.log" "reboot"
}

for f in $faults; do
  case "$f" in
    gate) fault_gate ;; serial) fault_serial ;; manual) fault_manual ;; package) fault_package ;; initramfs) fault_initramfs ;;
    kill) fault_kill ;; reboot) fault_reboot ;;
    *) fail "unknown fault '$f'" ;;
  esac
done
if [ $failed -eq 0 ]; then echo "txn e2e: PASS"; rm -rf "$work"; else echo "txn e2e: FAIL (logs in $work)"; fi
exit $failed
