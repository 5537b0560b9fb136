#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted commands are expanded by the node's shell
# End-to-end suite of the kernel install's one-shot boot trial (issue 5 fault 4, issue 6) on a
# running lab (env LAB, RDMA_LAB, LAB_INVENTORY from lab/with-lab). The first node gets
# rdma_stack=kernel with Debian's bookworm-backports linux-image-amd64 (a real second kernel,
# reachable in the archive). Faults are injected through an ordinary variable of the production
# path (rdma_kernel_trial_cmdline_extra: the trial entry's command line only).
#
#   KTRIAL_FAULTS="good panic hang" (default)
#   good   the trial kernel boots (one reboot), the gate passes on it (verbs + multicast pass,
#          uname -r = the backports kernel), committed, default: a plain `lab reset` boots it again;
#          then playbooks/rollback.yml takes the node back to its old kernel, state as before
#   panic  rdinit=/nonexistent: no such init in the initramfs, so the kernel mounts root itself and
#          cannot (virtio_blk and ext4 are modules; root=UUID= needs the initramfs): "VFS: Unable to
#          mount root fs", a kernel panic. (init=/nonexistent does NOT panic on Debian: initramfs-tools
#          falls back to /sbin/init; seen on the lab: the trial kernel booted and was committed.)
#          panic=N reboots it, GRUB's one-shot is spent,
#          the old kernel boots; the host fails "trial kernel X did not come up; node is back on Y",
#          rolled back, state as before (dpkg, /etc hashes, lsmod, GRUB env, uname), verdict as before
#   hang   rdinit=/usr/bin/sleep 100000: the trial kernel never answers; after a short
#          rdma_kernel_boot_timeout the reset command (lab reset) runs, the old kernel boots, rollback
# Every reboot and recovery time is printed. Exit 0 all passed, 1 a step failed, 77 no lab.
#
# A kernel built from source (issue 6; tests/kernel/e2e-kernel.sh builds it with tools/kstack and
# calls this): KTRIAL_DEBS="linux-image-....deb" (space-separated paths on this machine) replaces
# the backports packages (rdma_kernel_debs), KTRIAL_RELEASE is its `uname -r`, and KTRIAL_SERIES
# (e.g. rxe-lab) makes the good case also prove that the series' patched rdma_rxe is the module
# running on the trial kernel (/sys/module/rdma_rxe/parameters/rdma_deploy_series, its version,
# the kernel's "loaded (rdma-deploy series ...)" message).
# KTRIAL_RDMA_CORE_SOURCE (a tarball path or URL; KTRIAL_RDMA_CORE_SHA256, KTRIAL_RDMA_CORE_SERIES)
# adds the matching userspace from source (rdma_kernel_userspace=source): the good case then proves
# that the package's own tools run verbs through its own libibverbs on the trial kernel (the series'
# lines in ibv_devinfo and from the library, an RC ping-pong), that the distro's rdma-core still
# verifies, and the rollback removes the package.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

if [ -z "${LAB:-}" ] || [ -z "${LAB_INVENTORY:-}" ] || [ ! -e "${LAB_INVENTORY}/hosts.yml" ]; then
  echo "SKIP  kernel-trial e2e: no running lab (LAB / LAB_INVENTORY unset; run it through lab/with-lab)"
  exit 77
fi
faults=${KTRIAL_FAULTS:-good panic hang}
work=$(mktemp -d /tmp/ktrial-e2e.XXXXXX)
mapfile -t nodes < <(lab_nodes)
if [ ${#nodes[@]} -eq 0 ]; then fail "no hosts in $LAB_INVENTORY"; exit 1; fi
A=${nodes[0]}
root=$PWD
say "lab '${RDMA_LAB:-default}': kernel trial on $A; faults: $faults; work dir $work"
TXN="python3 /var/lib/rdma-deploy/bin/rdma-txn"
journal() { "$LAB" ssh "$1" "$TXN journal show" 2>/dev/null | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d.get('$2', ''))" 2>/dev/null; }
now() { date +%s; }

# The kernel stack on node A only, from bookworm-backports; the lab's reset command.
kernel_inventory() {  # kernel_inventory FILE EXTRA-YAML-LINES
  {
    printf 'all:\n  hosts:\n    %s:\n' "$A"
    printf '      rdma_stack: kernel\n'
    if [ -n "${KTRIAL_DEBS:-}" ]; then
      printf '      rdma_kernel_debs:\n'
      for d in $KTRIAL_DEBS; do printf '        - "%s"\n' "$d"; done
    else
      printf '      rdma_kernel_apt_packages: [linux-image-amd64]\n'
      printf '      rdma_kernel_apt_release: bookworm-backports\n'
    fi
    printf '      rdma_kernel_require_reset: true\n'
    printf '      rdma_kernel_reset_command: "%s/lab/lab reset {{ inventory_hostname }} --no-wait"\n' "$root"
    if [ -n "${KTRIAL_RDMA_CORE_SOURCE:-}" ]; then
      printf '      rdma_kernel_userspace: source\n'
      printf '      rdma_kernel_rdma_core_source: "%s"\n' "$KTRIAL_RDMA_CORE_SOURCE"
      printf '      rdma_kernel_rdma_core_sha256: "%s"\n' "${KTRIAL_RDMA_CORE_SHA256:-}"
      printf '      rdma_kernel_rdma_core_series: "%s"\n' "${KTRIAL_RDMA_CORE_SERIES:-}"
    fi
    [ -n "$2" ] && printf '      %s\n' "$2"
  } > "$1"
}
# rdma-core from source on node $1 (KTRIAL_RDMA_CORE_SOURCE): its prefix from the control node's
# build record in the deploy log ("rdma-core V (series S) in PREFIX").
rc_prefix() { grep -oE 'in /opt/rdma-deploy/[^ ]+' "$1" | head -n1 | cut -d' ' -f2; }
rc_checks() {  # rc_checks NODE LOG KVER
  local pfx got n
  pfx=$(rc_prefix "$2")
  if [ -z "$pfx" ]; then fail "good: $1: rdma-core from source: no 'in /opt/rdma-deploy/...' report in the deploy log"; return; fi
  got=$("$LAB" ssh "$1" "dpkg-query -W -f='\${Package} \${Version}\n' 'rdma-deploy-rdma-core-*'; $pfx/bin/ibv_devinfo -d rxe0 | grep -E 'rdma_deploy_series|state:'" 2>/dev/null | tr '\n\t' '  ')
  if [[ $got == *PORT_ACTIVE* ]] && { [ -z "${KTRIAL_RDMA_CORE_SERIES:-}" ] || [[ $got == *"rdma_deploy_series:  ${KTRIAL_RDMA_CORE_SERIES}"* ]]; }; then
    pass "good: $1: $pfx/bin/ibv_devinfo on $3 (its own libibverbs + librxe): ${got}"
  else fail "good: $1: rdma-core from source: ibv_devinfo of $pfx: '$got'"; fi
  got=$("$LAB" ssh "$1" "RDMA_DEPLOY_SHOW_SERIES=1 $pfx/bin/ibv_devices 2>&1 >/dev/null; RDMA_DEPLOY_SHOW_SERIES=1 ibv_devices 2>&1 >/dev/null; echo distro-done" 2>/dev/null | tr '\n' '|')
  if [ -z "${KTRIAL_RDMA_CORE_SERIES:-}" ] || [ "$got" = "libibverbs: rdma-deploy series ${KTRIAL_RDMA_CORE_SERIES}|distro-done|" ]; then
    pass "good: $1: the patched library speaks for the package's tools only: '$got'"
  else fail "good: $1: library series lines: '$got' (want the series line from $pfx only)"; fi
  # RC traffic through the built userspace: an ibv_rc_pingpong pair on the node (GID 1: RoCEv2 IPv4).
  n=$("$LAB" ssh "$1" "($pfx/bin/ibv_rc_pingpong -d rxe0 -g 1 -n 200 > /tmp/rcpp.srv 2>&1 &); sleep 1; $pfx/bin/ibv_rc_pingpong -d rxe0 -g 1 -n 200 127.0.0.1 2>&1 | grep -c 'iters in'; sleep 1; grep -c 'iters in' /tmp/rcpp.srv" 2>/dev/null | tr '\n' ' ')
  if [ "$n" = "1 1 " ]; then pass "good: $1: ibv_rc_pingpong of $pfx: 200 iterations both sides on $3"
  else fail "good: $1: ibv_rc_pingpong of $pfx: '$n' (want '1 1 ')"; "$LAB" ssh "$1" 'cat /tmp/rcpp.srv' 2>/dev/null | tail -5; fi
  got=$("$LAB" ssh "$1" 'dpkg --verify libibverbs1 ibverbs-providers librdmacm1; echo "rc=$?"' 2>/dev/null | tr '\n' ' ')
  if [ "$got" = "rc=0 " ]; then pass "good: $1: dpkg --verify libibverbs1 ibverbs-providers librdmacm1: nothing of the distro's changed"
  else fail "good: $1: the distro's rdma-core changed: $got"; fi
}
# Until the lead lists the kernel stack as implemented in roles/rdma_preflight/vars/main.yml.
pre=()
if ! grep -qE '^_rdma_preflight_stacks_implemented:.*kernel' roles/rdma_preflight/vars/main.yml; then
  pre=(-e '{"_rdma_preflight_stacks_implemented": ["inbox", "kernel"]}')
  say "NOTE: preflight does not list rdma_stack=kernel as implemented yet; overriding _rdma_preflight_stacks_implemented for this run"
fi
deploy() {  # deploy INVENTORY-EXTRA LOG
  ANSIBLE_ROLES_PATH=$root/roles ansible-playbook -i "$LAB_INVENTORY" -i "$1" "${pre[@]}" deploy-rdma.yml -l "$A" > "$2" 2>&1
}

# State: lib.sh's node_state plus the GRUB environment and the running kernel.
kstate() {  # kstate NODE OUT
  node_state "$1" "$2"
  "$LAB" ssh "$1" 'grub-editenv list | sed "s/^/grubenv /"; echo "kernel $(uname -r)"; ls /boot | sed "s/^/boot /"' >> "$2" 2>/dev/null
}
boots() { "$LAB" ssh "$1" 'last -x reboot | awk "/system boot/ { print \$4 }"' 2>/dev/null | wc -l; }
before() {  # before NODE TAG
  kstate "$1" "$work/$2.before"; agent_statuses "$1" > "$work/$2.verdict"; boots "$1" > "$work/$2.boots"
  "$LAB" ssh "$1" 'uname -r' > "$work/$2.kernel" 2>/dev/null
}
restored() {  # restored NODE TAG WHAT
  local v
  kstate "$1" "$work/$2.after"
  same_state "$work/$2.before" "$work/$2.after" "$1" "$3 (with GRUB env, /boot, uname -r)"
  v=$(agent_statuses "$1")
  if [ "$v" = "$(cat "$work/$2.verdict")" ]; then pass "$3: $1: agent verdict as before: $v"
  else fail "$3: $1: agent verdict before: $(cat "$work/$2.verdict") | after: $v"; fi
}
# The kernel a package of the archive's release installs: /boot/vmlinuz-<kver> owned by a ~bpo package.
bpo_kernel_of() { "$LAB" ssh "$1" 'k=$(uname -r); p=$(dpkg-query -S /boot/vmlinuz-$k | cut -d: -f1); echo "$k $p $(dpkg-query -W -f="\${Version}" "$p")"' 2>/dev/null; }
# Is KVER (package PKG, version PVER) the kernel this run trials? backports: a ~bpo version; built
# from source: KTRIAL_RELEASE and the version of the first .deb given.
trialled() {  # trialled KVER PKG PVER
  if [ -n "${KTRIAL_DEBS:-}" ]; then
    local want_v
    want_v=$(dpkg-deb -f "${KTRIAL_DEBS%% *}" Version 2>/dev/null)
    [ "$1" = "${KTRIAL_RELEASE:-}" ] && [ "$3" = "$want_v" ]
  else
    [[ $3 == *bpo* ]]
  fi
}
src_desc() { if [ -n "${KTRIAL_DEBS:-}" ]; then echo "built from source: $(basename "${KTRIAL_DEBS%% *}")"; else echo bookworm-backports; fi; }

fault_run() {  # fault_run TAG EXTRA-YAML WHAT noreset|reset
  local tag=$1 t0 t1 log=$work/$1.log inv=$work/$1.yml old trial rc how
  say "$3: deploying (waiting for the install, the trial reboot and the recovery: 10-20 min on TCG)"
  before "$A" "$tag"
  old=$(cat "$work/$tag.kernel")
  kernel_inventory "$inv" "$2"
  t0=$(now); deploy "$inv" "$log"; rc=$?; t1=$(now)
  trial=$(grep -oE "kernel [0-9][^ ]* installed beside" "$log" | head -n1 | awk '{ print $2 }')
  echo "     deploy exit $rc after $((t1 - t0)) s; trial kernel ${trial:-?}; $(grep -oE 'rolled back to snapshot [0-9TZ]+ in [0-9.]+ s' "$log" | head -n1)"
  grep -E "Kernel: reboot|Kernel: reset|rebooted in|reset by" "$log" | grep -vE '^\s*$' | head -8 | sed 's/^/     /'
  if [ $rc -ne 0 ] && grep -q "trial kernel $trial did not come up; node is back on $old" "$log"; then
    pass "$3: $A: host failed with \"trial kernel $trial did not come up; node is back on $old\""
  else
    fail "$3: $A: want a failed host saying the trial kernel did not come up (exit $rc)"; grep -E 'fatal|FAILED|msg' "$log" | tail -15
  fi
  if [ "$(journal "$A" state)" = rolled-back ]; then pass "$3: $A: transaction $(journal "$A" snapshot) rolled back"
  else fail "$3: $A: journal state $(journal "$A" state)"; fi
  # How it came back must be the fault's own way: a panic reboots by itself (panic=N, GRUB's one-shot
  # spent: no reset); a hang needs the reset command. A reset after a panic means the recovery was
  # not the one under test (e.g. the reboot step gave up early and reset a node that was booting).
  how=$(grep -oE "node is back on [^ ]+ \((rebooted in|reset by)[^)]*" "$log" | head -n1)
  case "$4:$how" in
    noreset:*"(rebooted in"*|reset:*"(reset by"*) pass "$3: $A: came back as this fault should: ${how#node is back on }" ;;
    *) fail "$3: $A: came back the wrong way for this fault (want ${4}): ${how:-no 'node is back on' message}" ;;
  esac
  restored "$A" "$tag" "$3"
  echo "     boots recorded: $(cat "$work/$tag.boots") before, $(boots "$A") after; time from deploy start to rolled back: $((t1 - t0)) s"
}

for f in $faults; do
  case $f in
  good)
    say "good trial: $(src_desc) (install, one reboot, gate on the new kernel, commit)"
    before "$A" good
    old=$(cat "$work/good.kernel")
    kernel_inventory "$work/good.yml" ""
    t0=$(now); deploy "$work/good.yml" "$work/good.log"; rc=$?; t1=$(now)
    echo "     deploy exit $rc in $((t1 - t0)) s; $(grep -oE 'rebooted in [0-9.]+ s' "$work/good.log" | head -n1)"
    read -r kver pkg pver <<<"$(bpo_kernel_of "$A")"
    if [ $rc -eq 0 ] && [ "$kver" != "$old" ] && trialled "$kver" "$pkg" "$pver"; then
      pass "good: $A: deploy ok, runs $kver ($pkg $pver, $(src_desc)), was $old"
    else
      fail "good: $A: exit $rc, runs ${kver:-?} (${pkg:-?} ${pver:-?}), was $old"; grep -E 'fatal|FAILED' -A3 "$work/good.log" | tail -20
    fi
    n=$(( $(boots "$A") - $(cat "$work/good.boots") ))
    if [ "$n" -eq 1 ]; then pass "good: $A: rebooted exactly once (wtmp)"; else fail "good: $A: $n reboots (want 1)"; fi
    v=$(agent_statuses "$A")
    if [[ " $v " == *" verbs=pass "* ]] && [[ " $v " == *" multicast=pass "* ]]; then
      pass "good: $A: agent on $kver: $v"
    else fail "good: $A: agent on $kver: $v (want verbs=pass multicast=pass)"; fi
    if [ -n "${KTRIAL_SERIES:-}" ]; then
      # The patched module, not a stock one: the series' parameter, version and boot message.
      got=$("$LAB" ssh "$A" 'cat /sys/module/rdma_rxe/parameters/rdma_deploy_series 2>/dev/null; cat /sys/module/rdma_rxe/version 2>/dev/null; modinfo -n rdma_rxe; dmesg | grep -c "rdma_rxe: loaded (rdma-deploy series"' 2>/dev/null | tr '\n' ' ')
      read -r g_series g_version g_path g_msgs <<<"$got"
      if [ "$g_series" = "$KTRIAL_SERIES" ] && [[ $g_version == *"rdma-deploy-$KTRIAL_SERIES"* ]] \
          && [[ $g_path == "/lib/modules/$kver/"* ]] && [ "${g_msgs:-0}" -ge 1 ]; then
        pass "good: $A: the series' rdma_rxe runs on $kver: rdma_deploy_series=$g_series, version $g_version, $g_path, kernel message seen"
      else fail "good: $A: patched rdma_rxe of series $KTRIAL_SERIES not running on $kver: got '$got'"; fi
    fi
    [ -n "${KTRIAL_RDMA_CORE_SOURCE:-}" ] && rc_checks "$A" "$work/good.log" "$kver"
    if [ "$(journal "$A" state)" = committed ]; then pass "good: $A: transaction $(journal "$A" snapshot) committed"
    else fail "good: $A: journal state $(journal "$A" state)"; fi
    say "good: plain lab reset: the committed kernel must boot again (default)"
    t0=$(now); "$LAB" reset "$A" >/dev/null 2>&1; t1=$(now)
    k=$("$LAB" ssh "$A" 'uname -r' 2>/dev/null)
    if [ "$k" = "$kver" ]; then pass "good: $A: after lab reset ($((t1 - t0)) s) runs $k: the default"
    else fail "good: $A: after lab reset runs ${k:-?}, want $kver"; fi
    say "good: playbooks/rollback.yml (by hand) to the pre-deploy snapshot: back to $old"
    t0=$(now)
    if ! grep -q kernel-back playbooks/rollback.yml; then
      # Until playbooks/rollback.yml runs it (lead): the same rdma_txn task file, before it.
      say "NOTE: playbooks/rollback.yml does not reboot into the snapshot's kernel yet; running roles/rdma_txn/tasks/kernel-back.yml first"
      printf -- '- hosts: %s\n  gather_facts: false\n  tasks:\n    - {ansible.builtin.import_role: {name: rdma_txn, tasks_from: tool.yml}}\n    - {ansible.builtin.set_fact: {rdma_txn_snapshot_id: "%s"}}\n    - {ansible.builtin.import_role: {name: rdma_txn, tasks_from: kernel-back.yml}}\n    - {ansible.builtin.assert: {that: "_rdma_txn_kernel_error is not defined"}}\n' \
        "$A" "$(journal "$A" snapshot)" > "$work/kernel-back.yml"
      ANSIBLE_ROLES_PATH=$root/roles ansible-playbook -i "$LAB_INVENTORY" -i "$work/good.yml" "$work/kernel-back.yml" > "$work/good-back.log" 2>&1 \
        || { fail "good: kernel-back"; tail -20 "$work/good-back.log"; }
    fi
    ANSIBLE_ROLES_PATH=$root/roles ansible-playbook -i "$LAB_INVENTORY" -i "$work/good.yml" playbooks/rollback.yml -l "$A" > "$work/good-rb.log" 2>&1
    rc=$?; t1=$(now)
    echo "     rollback exit $rc in $((t1 - t0)) s"
    grep -E "restored|NOT restored|state vs snapshot" "$work/good-rb.log" | head -4 | sed 's/^ */     /'
    restored "$A" good "good, rolled back by hand"
    if [ -n "${KTRIAL_RDMA_CORE_SOURCE:-}" ]; then
      pfx=$(rc_prefix "$work/good.log")
      got=$("$LAB" ssh "$A" "dpkg-query -W 'rdma-deploy-rdma-core-*' 2>/dev/null | wc -l; ls -d ${pfx:-/nonexistent} 2>/dev/null | wc -l" 2>/dev/null | tr '\n' ' ')
      if [ "$got" = "0 0 " ]; then pass "good, rolled back by hand: $A: the rdma-core package and $pfx are gone"
      else fail "good, rolled back by hand: $A: rdma-core from source left behind: '$got' (packages, prefix)"; fi
    fi
    ;;
  panic)
    fault_run panic 'rdma_kernel_trial_cmdline_extra: rdinit=/nonexistent' "panic (rdinit=/nonexistent)" noreset ;;
  hang)
    fault_run hang "$(printf 'rdma_kernel_trial_cmdline_extra: "rdinit=/usr/bin/sleep 100000"\n      rdma_kernel_boot_timeout: %s' "${KTRIAL_HANG_TIMEOUT:-360}")" "hang (rdinit=sleep, timeout ${KTRIAL_HANG_TIMEOUT:-360} s)" reset ;;
  *) fail "unknown fault $f" ;;
  esac
done
echo "work dir: $work"
exit "$failed"
