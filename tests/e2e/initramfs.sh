#!/usr/bin/env bash
# End-to-end suite for the deploy's initramfs path (roles/rdma_params/tasks/initramfs.yml) on a
# running lab (env LAB, RDMA_LAB, LAB_INVENTORY from lab/with-lab); 1-node capable: it uses the
# first node only (INITRAMFS_E2E_NODE=<node> picks another). The changed module option is mlx4_core
# log_num_mac (a real parameter, harmless without ConnectX-3 hardware); log_num_mgm_entry_size stays
# -1 so the agent's mlx4_steering check (the gate) still passes.
#   setup  MODULES=dep in /etc/initramfs-tools/initramfs.conf (MODULES=most takes ~13 min under
#          TCG) and one rebuild, so the image has no mlx4_core; the original image, initramfs.conf
#          and modules list are saved on the node and put back at the end
#   a      mlx4_core configured but NOT in the initramfs: a deploy with a changed option rewrites
#          the options file, the "Initramfs: rebuild" task is skipped, the image hash is unchanged
#   b      mlx4_core forced into the image (/etc/initramfs-tools/modules, one rebuild as setup): a
#          deploy with a changed option rebuilds it (task changed, new hash) and the NEW image's
#          etc/modprobe.d/<file>.conf (unmkinitramfs) holds the new options line
#   c      the same deploy again: changed=0, no rebuild, image hash unchanged
#   restore the node's files back, a deploy with the inventory's own values, the original image
#          copied back; its hash, initramfs.conf and the modules list compared with the originals
# INITRAMFS_E2E_TAGS=params runs the a/b/c/restore deploys with --tags params (the params phase of
# deploy-rdma.yml with preflight, facts and the transaction: minutes less per run under TCG);
# default: the whole deploy (the first one of a fresh node too).
# Exit 0 all passed, 1 a step failed, 77 no lab to run on.
# shellcheck disable=SC2016 # single-quoted commands are expanded by the node's shell
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

if [ -z "${LAB:-}" ] || [ -z "${LAB_INVENTORY:-}" ] || [ ! -e "${LAB_INVENTORY}/hosts.yml" ]; then
  echo "SKIP  initramfs e2e: no running lab (LAB / LAB_INVENTORY unset; run it through lab/with-lab)"
  exit 77
fi
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh
work=$(mktemp -d /tmp/initramfs-e2e.XXXXXX)
mapfile -t nodes < <(lab_nodes)
if [ ${#nodes[@]} -eq 0 ]; then fail "no hosts in $LAB_INVENTORY"; exit 1; fi
N=${INITRAMFS_E2E_NODE:-${nodes[0]}}
CONF=/etc/modprobe.d/rdma-deploy.conf   # rdma_os_modprobe_dir / rdma_params_conf_file (defaults)
SAVE=/var/tmp/rdma-initramfs-e2e        # originals, on the node
say "lab '${RDMA_LAB:-default}': $N (inventory $LAB_INVENTORY)"

on() { timeout "${T:-1200}" "$LAB" ssh "$N" "$@"; }
play() { ansible-playbook -i "$LAB_INVENTORY" -l "$N" deploy-rdma.yml "$@"; }
image_hash() { on 'sha256sum "/boot/initrd.img-$(uname -r)" | cut -c1-16'; }
# task_status LOG: what the "Initramfs: rebuild" task did on N (changed / ok / skipping / none)
task_status() {
  awk -v h="[$N]" '/^TASK \[/ { t = ($0 ~ /Initramfs: rebuild\]/) } t && index($0, h) { split($0, a, ":"); print a[1]; exit }' "$1" \
    | grep . || echo none
}
# deploy_with TAG VALUE: deploy N with mlx4_core log_num_mac=VALUE (empty: the inventory's values)
deploy_with() {
  local tag=$1 v=$2 t0 rc
  t0=$(date +%s)
  local tags=()
  [ -n "${INITRAMFS_E2E_TAGS:-}" ] && tags=(--tags "$INITRAMFS_E2E_TAGS")
  if [ -n "$v" ]; then
    play "${tags[@]}" -e "{\"rdma_params_options\": {\"mlx4_core\": {\"log_num_mac\": $v}}}" > "$work/$tag.log" 2>&1; rc=$?
  else
    play "${tags[@]}" > "$work/$tag.log" 2>&1; rc=$?
  fi
  echo "      deploy ($tag${v:+, log_num_mac=$v}${tags[*]:+, ${tags[*]}}): exit $rc in $(( $(date +%s) - t0 )) s; recap: $(recap_changed "$work/$tag.log"); Initramfs: rebuild -> $(task_status "$work/$tag.log")"
  [ $rc -eq 0 ] || { grep -E -A3 'fatal|FAILED|First cause' "$work/$tag.log" | head -30; return 1; }
}
# rebuild_now WHAT: update-initramfs on the node (setup steps), with progress.
rebuild_now() {
  local t0; t0=$(date +%s)
  echo "      update-initramfs -u ($1; MODULES=dep: 1-3 min under TCG)..."
  if T=1800 on 'update-initramfs -u -k "$(uname -r)"' > "$work/rebuild.log" 2>&1; then
    echo "      rebuilt in $(( $(date +%s) - t0 )) s"
  else
    fail "setup: update-initramfs ($1) failed: $(tail -c 400 "$work/rebuild.log")"; return 1
  fi
}
has_mlx4() { on 'lsinitramfs "/boot/initrd.img-$(uname -r)" | grep -c "/mlx4_core\.ko"' 2>/dev/null | tr -d '[:space:]'; }

# ---------------------------------------------------------------------------------------- setup
say "setup: $N deployed, MODULES=dep, originals saved"
deployed="command -v rdma-agent >/dev/null && test -s $CONF"
[ -n "${INITRAMFS_E2E_TAGS:-}" ] && deployed="test -s $CONF"
if ! on "$deployed" >/dev/null 2>&1; then
  deploy_with predeploy "" || { fail "setup: deploy before the test failed"; exit 1; }
fi
# Save the originals once (a re-run after an interrupted one keeps the first saved copies).
# shellcheck disable=SC2016 # expanded by the node's shell
if ! on "set -e; k=\$(uname -r); mkdir -p $SAVE; cd $SAVE
    [ -e initrd.img ] || cp -p /boot/initrd.img-\$k initrd.img
    [ -e initramfs.conf ] || cp -p /etc/initramfs-tools/initramfs.conf initramfs.conf
    [ -e modules ] || cp -p /etc/initramfs-tools/modules modules
    [ -e rdma-deploy.conf ] || cp -p $CONF rdma-deploy.conf
    sha256sum initrd.img initramfs.conf modules rdma-deploy.conf > sums
    sed -i 's/^MODULES=.*/MODULES=dep/' /etc/initramfs-tools/initramfs.conf
    grep -qx MODULES=dep /etc/initramfs-tools/initramfs.conf
    sed -i '/^mlx4_core\\b/d' /etc/initramfs-tools/modules" > "$work/save.log" 2>&1; then
  fail "setup: could not save the originals / set MODULES=dep: $(tail -c 300 "$work/save.log")"; exit 1
fi
pass "setup: originals saved in $N:$SAVE ($(on "cut -c1-12 $SAVE/sums | paste -sd' '" 2>/dev/null)); MODULES=dep set"
rebuild_now "MODULES=dep, mlx4_core not forced" || exit 1
m=$(has_mlx4)
if [ "$m" = 0 ]; then
  pass "setup: the rebuilt image has no mlx4_core.ko (lsinitramfs)"
else
  fail "setup: mlx4_core.ko still in the image ($m matches): case (a) cannot run"; exit 1
fi

# ------------------------------------------------------------------------------------------- (a)
say "a: a changed option for a module NOT in the initramfs: no rebuild"
h0=$(image_hash); c0=$(on "sha256sum $CONF" 2>/dev/null | cut -c1-16)
deploy_with a 6
h1=$(image_hash); c1=$(on "sha256sum $CONF" 2>/dev/null | cut -c1-16)
if [ "$c1" != "$c0" ] && on "grep -qE '^options mlx4_core .*log_num_mac=6' $CONF"; then
  pass "a: the options file changed ($c0 -> $c1): $(on "grep '^options mlx4_core' $CONF" 2>/dev/null)"
else
  fail "a: the options file did not change as expected ($c0 -> $c1)"
fi
st=$(task_status "$work/a.log")
if [ -n "$h0" ] && [ "$h1" = "$h0" ] && [ "$st" = skipping ]; then
  pass "a: image hash unchanged ($h0), Initramfs: rebuild skipped (mlx4_core not in the image)"
else
  fail "a: image $h0 -> $h1, Initramfs: rebuild -> $st (want unchanged and skipping)"
fi

# ------------------------------------------------------------------------------------------- (b)
say "b: mlx4_core forced into the initramfs; a changed option rebuilds it with the new line"
on 'echo mlx4_core >> /etc/initramfs-tools/modules' >/dev/null 2>&1
rebuild_now "mlx4_core forced" || exit 1
m=$(has_mlx4)
if [ "${m:-0}" -ge 1 ] 2>/dev/null; then pass "b: setup: mlx4_core.ko is in the image (lsinitramfs)"; else fail "b: setup: mlx4_core.ko not in the image"; fi
h0=$(image_hash)
deploy_with b 5
h1=$(image_hash); st=$(task_status "$work/b.log")
if [ "$st" = changed ] && [ -n "$h1" ] && [ "$h1" != "$h0" ]; then
  pass "b: Initramfs: rebuild changed; image $h0 -> $h1"
else
  fail "b: Initramfs: rebuild -> $st, image $h0 -> $h1 (want changed and a new hash)"
fi
# shellcheck disable=SC2016 # expanded by the node's shell
inside=$(on 'd=$(mktemp -d); unmkinitramfs "/boot/initrd.img-$(uname -r)" "$d" >/dev/null 2>&1;
  f=$(find "$d" -path "*/etc/modprobe.d/rdma-deploy.conf" | head -n1);
  if [ -n "$f" ]; then grep "^options mlx4_core" "$f"; else echo "NO-FILE"; fi; rm -rf "$d"' 2>/dev/null)
if grep -qE '^options mlx4_core .*log_num_mac=5' <<<"$inside" && grep -q 'log_num_mgm_entry_size=-1' <<<"$inside"; then
  pass "b: the new image's etc/modprobe.d/rdma-deploy.conf (unmkinitramfs): $inside"
else
  fail "b: the new image does not hold the new options line: ${inside:-nothing read}"
fi

# ------------------------------------------------------------------------------------------- (c)
say "c: the same deploy again: changed=0, no rebuild"
h0=$(image_hash)
deploy_with c 5
h1=$(image_hash); st=$(task_status "$work/c.log"); ch=$(recap_field "$work/c.log" "$N" changed)
if [ "$ch" = 0 ] && [ "$st" = skipping ] && [ "$h1" = "$h0" ]; then
  pass "c: re-run changed=0, Initramfs: rebuild skipped, image hash unchanged ($h0)"
else
  fail "c: re-run changed=$ch, Initramfs: rebuild -> $st, image $h0 -> $h1"
fi

# -------------------------------------------------------------------------------------- restore
say "restore: initramfs-tools files, the inventory's options, the original image"
on "cp -p $SAVE/initramfs.conf /etc/initramfs-tools/initramfs.conf && cp -p $SAVE/modules /etc/initramfs-tools/modules" \
  > /dev/null 2>&1 || fail "restore: could not put initramfs.conf / modules back"
deploy_with restore "" || fail "restore: the deploy with the inventory's values failed"
on "cp -p $SAVE/initrd.img \"/boot/initrd.img-\$(uname -r)\"" >/dev/null 2>&1 || fail "restore: could not copy the image back"
# shellcheck disable=SC2016 # expanded by the node's shell
if on "k=\$(uname -r); cmp $SAVE/initrd.img /boot/initrd.img-\$k && cmp $SAVE/initramfs.conf /etc/initramfs-tools/initramfs.conf \
       && cmp $SAVE/modules /etc/initramfs-tools/modules && cmp $SAVE/rdma-deploy.conf $CONF" > "$work/restore.log" 2>&1; then
  pass "restore: image, initramfs.conf, modules and $CONF identical to the saved originals (cmp)"
  on "rm -rf $SAVE" >/dev/null 2>&1
else
  fail "restore: not identical to the originals (kept in $N:$SAVE): $(head -c 400 "$work/restore.log")"
fi

if [ $failed -eq 0 ]; then echo "initramfs e2e: PASS"; rm -rf "$work"; else echo "initramfs e2e: FAIL (logs in $work)"; fi
exit $failed
