#!/usr/bin/env bash
# Lab proof of the DKMS path (issue 6) on node1 of a running lab (RDMA_LAB, LAB_INVENTORY; run it
# under lab/with-lab --nodes 1, or after lab/lab up --nodes 1). Steps (each prints PASS/FAIL):
#   role    ansible-playbook tests/kernel/dkms-play.yml (roles/rdma_dkms): prepare + dkms build on the node
#   dkms    dkms status: installed for $(uname -r); modinfo -n rdma_rxe under updates/dkms
#   reload  modprobe -r rdma_rxe; modprobe rdma_rxe; parameter rdma_deploy_series = rxe-lab, version
#   agent   rxe0 on the data NIC; rdma-agent check: verbs, multicast pass; stack shows
#           module:rdma_rxe from updates/dkms ($BUILD/rdma-agent, default build-dkms/)
#   check   playbooks/check-kernel-update.yml against the running kernel (must pass, node unchanged)
#           and, with CANDIDATE_SUITE (default bookworm-backports), linux-headers-amd64 from there
#           (the result is reported, not asserted: a newer kernel may not build 6.1's rxe)
#   update  with AUTOINSTALL_DEBS="... linux-headers-X.deb linux-image-X.deb" (a kernel update, in
#           install order, image last; e.g. Debian's newer 6.1.0-N from bookworm-security, fetched
#           with apt-get download with its -common headers and linux-kbuild-6.1): installed on the
#           node, dkms's kernel hooks must build and install the DKMS module for X by themselves
#           (AUTOINSTALL=yes): dkms status installed for X, rdma_rxe.ko under
#           /lib/modules/X/updates/dkms with the series' version and X's vermagic. Not a kernel
#           built with the same series (make e2e-kernel's): its own rdma_rxe carries the same
#           version, and dkms then builds but rightly "will not replace this module".
# Env: SKIP_AGENT=1, SKIP_BACKPORTS=1, SKIP_CHECK=1 to leave steps out. Exit 0 pass, 1 fail, 77 skipped.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
LAB=${LAB:-$repo/lab/lab}
export RDMA_LAB=${RDMA_LAB:-dkms}
LAB_INVENTORY=${LAB_INVENTORY:-$("$LAB" inventory 2>/dev/null)}
BUILD=${BUILD:-$repo/build-dkms}
CANDIDATE_SUITE=${CANDIDATE_SUITE:-bookworm-backports}
node=node1
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failed=$((failed+1)); }
# on SECONDS 'COMMAND LINE': one string, run by the node's shell (lab ssh passes its words to the
# remote shell like ssh does, so `bash -c '...'` would be split there).
on() { local t=$1; shift; timeout "$t" "$LAB" ssh "$node" "$*"; }
t() { date +%s; }

if ! "$LAB" status >/dev/null 2>&1; then
  echo "SKIP dkms-lab.sh: lab '$RDMA_LAB' is not up (lab/with-lab --nodes 1 -- $0)"; exit 77
fi
[ -f /usr/src/linux-source-6.1.tar.xz ] || { echo "SKIP dkms-lab.sh: apt-get install linux-source-6.1"; exit 77; }
cd "$repo" || exit 1
export ANSIBLE_NOCOLOR=1

echo "dkms-lab.sh: role rdma_dkms on $node (apt of dkms + headers, dkms build under TCG: minutes)"
s=$(t)
if timeout 3600 ansible-playbook -i "$LAB_INVENTORY" tests/kernel/dkms-play.yml > /tmp/dkms-lab-role.log 2>&1; then
  pass "role: rdma_dkms in $(( $(t) - s )) s ($(grep -o 'build_seconds=[0-9]*' /tmp/dkms-lab-role.log | head -1 || true))"
else
  fail "role: exit $? after $(( $(t) - s )) s"; grep -E 'fatal|FAILED|msg' /tmp/dkms-lab-role.log | tail -5; exit 1
fi

# shellcheck disable=SC2016 # expanded by the node's shell
out=$(on 120 'r=$(uname -r); echo "release=$r"; dkms status -k "$r"; echo "path=$(modinfo -n rdma_rxe)"')
while IFS= read -r l; do echo "    | $l"; done <<<"$out"
rel=$(echo "$out" | sed -n 's/^release=//p')
if echo "$out" | grep -qE "^rdma-deploy-rxelab/[^,]+, $rel, [^:]+: installed"; then pass "dkms: installed for $rel"
else fail "dkms: status does not show installed for $rel"; fi
case "$(echo "$out" | sed -n 's/^path=//p')" in
  /lib/modules/$rel/updates/dkms/rdma_rxe.ko*) pass "dkms: modinfo -n rdma_rxe is under updates/dkms" ;;
  *) fail "dkms: modinfo -n rdma_rxe is $(echo "$out" | sed -n 's/^path=//p')" ;;
esac

# shellcheck disable=SC2016 # expanded by the node's shell
out=$(on 120 'for l in $(rdma link show 2>/dev/null | awk "{print \$2}" | cut -d/ -f1); do rdma link delete $l; done
  modprobe -r rdma_rxe && modprobe rdma_rxe && echo "param=$(cat /sys/module/rdma_rxe/parameters/rdma_deploy_series)" &&
  echo "version=$(cat /sys/module/rdma_rxe/version)" && echo "taint=$(cat /sys/module/rdma_rxe/taint)"; dmesg | grep "rdma_rxe: loaded" | tail -1')
while IFS= read -r l; do echo "    | $l"; done <<<"$out"
if echo "$out" | grep -qx 'param=rxe-lab' && echo "$out" | grep -qx 'version=6.1-rdma-deploy-rxe-lab.1'; then
  pass "reload: rdma_deploy_series=rxe-lab, version 6.1-rdma-deploy-rxe-lab.1 after modprobe -r/modprobe"
else fail "reload: the loaded rdma_rxe does not carry the series"; fi

if [ "${SKIP_AGENT:-0}" != 1 ]; then
  if [ ! -x "$BUILD/rdma-agent" ]; then fail "agent: $BUILD/rdma-agent not built"
  else
    netdev=$(sed -n 's/^ *rdma_softroce_netdevs: \[\([^],]*\).*/\1/p' "$LAB_INVENTORY/hosts.yml")
    "$LAB" push "$node" "$BUILD/rdma-agent" /usr/local/bin/rdma-agent >/dev/null
    json=$(on 900 env NETDEV="$netdev" bash -s <<'NODE'
set -u
pkgs=(libibverbs1 ibverbs-providers librdmacm1 libyaml-cpp0.7 libdw1 libelf1 rdma-core)
missing=(); for p in "${pkgs[@]}"; do [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/dkms-lab-apt.log 2>&1 || exit 1; fi
rdma link show | grep -q "netdev $NETDEV\b" || rdma link add rxe0 type rxe netdev "$NETDEV" || exit 1
sleep 2
rdma-agent check --format json
NODE
)
    printf '%s' "$json" | /usr/bin/python3 -c '
import json, sys
try: doc = json.load(sys.stdin)
except Exception as e: print("FAIL agent: output is not JSON: %s" % e); sys.exit(0)
c = {x["name"]: x for x in doc.get("checks", [])}
for n in ("verbs", "multicast"):
    x = c.get(n); print("%s agent: %s %s: %s" % ("PASS" if x and x["status"] == "pass" else "FAIL", n, x and x["status"], x and x["message"]))
st = c.get("stack", {"entities": []})
e = next((e for e in st["entities"] if e["name"] == "module:rdma_rxe"), None)
ok = e is not None and e["details"].get("origin") == "updates/dkms"
print("%s agent: stack module:rdma_rxe: %s" % ("PASS" if ok else "FAIL", e["message"] if e else "absent"))
' | tee /tmp/dkms-lab-agent.txt
    failed=$((failed + $(grep -c '^FAIL' /tmp/dkms-lab-agent.txt)))
  fi
fi

if [ -n "${AUTOINSTALL_DEBS:-}" ]; then
  echo "dkms-lab.sh: kernel update: installing $(for d in $AUTOINSTALL_DEBS; do basename "$d"; done | tr '\n' ' ')(dkms must rebuild by itself)"
  names=()
  for d in $AUTOINSTALL_DEBS; do "$LAB" push "$node" "$d" "/tmp/$(basename "$d")" >/dev/null; names+=("/tmp/$(basename "$d")"); done
  newk=$(dpkg-deb -f "${AUTOINSTALL_DEBS##* }" Package | sed 's/^linux-image-//')
  s=$(t)
  # One package at a time, in the order given (headers first): the image's postinst runs dkms's
  # kernel hook, which builds only when the kernel's headers are already there.
  out=$(on 3600 "rc=0; for p in ${names[*]}; do DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \$p >> /tmp/dkms-lab-update.log 2>&1 || rc=1; done; echo apt=\$rc;
    dkms status -k $newk; echo path=\$(ls /lib/modules/$newk/updates/dkms/rdma_rxe.ko* 2>/dev/null);
    echo version=\$(modinfo -F version /lib/modules/$newk/updates/dkms/rdma_rxe.ko* 2>/dev/null);
    echo vermagic=\$(modinfo -F vermagic /lib/modules/$newk/updates/dkms/rdma_rxe.ko* 2>/dev/null | cut -d' ' -f1);
    grep -iE 'dkms|autoinstall|rdma-deploy' /tmp/dkms-lab-update.log | tail -4")
  while IFS= read -r l; do echo "    | $l"; done <<<"$out"
  if echo "$out" | grep -qx 'apt=0' && echo "$out" | grep -qE "^rdma-deploy-rxelab/[^,]+, $newk, [^:]+: installed" \
      && echo "$out" | grep -qx 'version=6.1-rdma-deploy-rxe-lab.1' && echo "$out" | grep -qx "vermagic=$newk"; then
    pass "update: installing kernel $newk rebuilt and installed the DKMS module for it by itself in $(( $(t) - s )) s"
  else fail "update: dkms did not build rdma-deploy-rxelab for $newk (see above; node log /tmp/dkms-lab-update.log)"; fi
fi

[ "${SKIP_CHECK:-0}" = 1 ] && { [ $failed -eq 0 ] && echo "dkms-lab.sh: PASS" || echo "dkms-lab.sh: FAIL ($failed)"; [ $failed -eq 0 ]; exit; }
echo "dkms-lab.sh: check-kernel-update.yml against the running kernel $rel"
before=$(on 60 "dpkg-query -W -f='\${Package} \${Version}\n' | sort | md5sum; ls /var/lib/dkms/*/*/ 2>/dev/null | md5sum")
s=$(t)
if timeout 3600 ansible-playbook -i "$LAB_INVENTORY" playbooks/check-kernel-update.yml -e candidate="$rel" > /tmp/dkms-lab-cku1.log 2>&1; then
  pass "check: candidate $rel passes in $(( $(t) - s )) s: $(grep -o 'PASS rdma-deploy[^"]*' /tmp/dkms-lab-cku1.log | head -1)"
else fail "check: candidate $rel exit $? after $(( $(t) - s )) s"; grep -E 'FAIL|fatal|msg' /tmp/dkms-lab-cku1.log | tail -5; fi
after=$(on 60 "dpkg-query -W -f='\${Package} \${Version}\n' | sort | md5sum; ls /var/lib/dkms/*/*/ 2>/dev/null | md5sum")
if [ "$before" = "$after" ]; then pass "check: packages and the DKMS tree unchanged"; else fail "check: the node changed"; fi

if [ "${SKIP_BACKPORTS:-0}" != 1 ]; then
  echo "dkms-lab.sh: check-kernel-update.yml against linux-headers-amd64 from $CANDIDATE_SUITE (report)"
  s=$(t)
  timeout 3600 ansible-playbook -i "$LAB_INVENTORY" playbooks/check-kernel-update.yml -e candidate=linux-headers-amd64 \
    -e candidate_suite="$CANDIDATE_SUITE" > /tmp/dkms-lab-cku2.log 2>&1
  rc=$?
  echo "REPORT check $CANDIDATE_SUITE: exit $rc after $(( $(t) - s )) s"
  sed -n '/TASK \[Report\]/,/^$/p' /tmp/dkms-lab-cku2.log | grep -vE '^TASK|^Saturday|^$' | sed 's/^/    | /' | head -30
  grep -E 'fatal' /tmp/dkms-lab-cku2.log | head -3 | cut -c1-600 | sed 's/^/    | /'
  after2=$(on 60 "dpkg-query -W -f='\${Package} \${Version}\n' | sort | md5sum; ls /var/lib/dkms/*/*/ 2>/dev/null | md5sum")
  if [ "$before" = "$after2" ]; then pass "check $CANDIDATE_SUITE: packages and the DKMS tree unchanged afterwards"
  else fail "check $CANDIDATE_SUITE: the node changed"; fi
  if on 30 test -e /etc/apt/sources.list.d/rdma-deploy-candidate.list; then fail "check: apt source left behind"
  else pass "check: apt source removed"; fi
fi

[ $failed -eq 0 ] && echo "dkms-lab.sh: PASS" || echo "dkms-lab.sh: FAIL ($failed)"
[ $failed -eq 0 ]
