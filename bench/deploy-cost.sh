#!/usr/bin/env bash
# Benchmarks 3, 4 (lab part) and 7, side by side in one run on a lab of FRESH nodes (env LAB,
# RDMA_LAB, LAB_INVENTORY as lab/with-lab exports them). Needs 2 nodes for the by-hand half of 7
# and the 2-node figures of 4; with 1 node those parts are skipped (said).
#   0. prewarm (not timed): preflight + facts + build-agent plays, so that the agent package for the
#      nodes' release exists on the control node (a compile there is not deploy cost: it happens once
#      per source version, not per node)
#   1. baseline: playbooks/bench-baseline.yml (connect + gather facts, nothing else), RUNS times on
#      DEPLOY_NODE, then on every node (4: 1 vs 2 nodes)
#   1b. one task's cost on DEPLOY_NODE: playbooks/bench-task-cost.yml, /bin/true as a module and as
#      raw, TASK_COUNT times each (and again with the mitogen strategy when it is installed)
#   2. by hand on MANUAL_NODE (7): apt-get update + apt-get install of the inbox packages the deploy
#      installs on this release, the same modules-load.d/modprobe.d files and modprobes, the same
#      Soft-RoCE systemd unit enabled and started, the same agent package installed (pushed .deb):
#      what an operator types for the same end state, without snapshot, verification or rollback
#   3. fresh deploy of DEPLOY_NODE (3, 7): deploy-rdma.yml -l DEPLOY_NODE, including its health gate
#   4. deploy of MANUAL_NODE over its hand-made configuration (not a fresh deploy: labelled so)
#   5. no-op re-runs: DEPLOY_NODE alone, then every node (3, 4), with ansible.cfg as committed
#   6. no-op re-runs on every node with one setting changed each (NOOP_VARIANTS):
#        pipelining=off   ANSIBLE_PIPELINING=False (ansible.cfg: true)
#        forks=1          ANSIBLE_FORKS=1 (ansible.cfg: 20): hosts one after the other
#        factcache        ANSIBLE_GATHERING=smart + jsonfile fact cache: one run fills, the next is timed
#        persist=off      ANSIBLE_SSH_ARGS="" (ansible.cfg: ControlMaster=auto, ControlPersist=120s)
# Prints every figure as it is measured, then a summary with the ratios. Never asserts a time.
# Env: DEPLOY_NODE (node1), MANUAL_NODE (node2; "" to skip the by-hand half), RUNS (3 baseline runs),
# TASK_COUNT (10: tasks per loop of playbooks/bench-task-cost.yml, step 1b),
# NOOP_VARIANTS ("pipelining=off forks=1 factcache persist=off"), KEEP_LOGS (dir for the logs),
# NOOP_ONLY=1 (nodes already deployed: only steps 5-6, the no-op re-runs and the settings).
# Exit 0 measured, 1 a step failed, 2 bad input, 77 no lab.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
# shellcheck source=bench/lib.sh
. bench/lib.sh
DEPLOY_NODE=${DEPLOY_NODE:-node1}
MANUAL_NODE=${MANUAL_NODE-node2}
RUNS=${RUNS:-3}
TASK_COUNT=${TASK_COUNT:-10}
NOOP_ONLY=${NOOP_ONLY:-0}
NOOP_VARIANTS=${NOOP_VARIANTS-pipelining=off forks=1 factcache persist=off strategy=mitogen}
# MITOGEN_NODE: a third fresh node deployed with ANSIBLE_STRATEGY=mitogen_linear (Debian's
# ansible-mitogen) in the same run, against the same by-hand figure.
MITOGEN_NODE=${MITOGEN_NODE-}
case "$RUNS" in ''|*[!0-9]*|0) echo "deploy-cost.sh: RUNS must be a positive integer, got '$RUNS'" >&2; exit 2 ;; esac
case "$TASK_COUNT" in ''|*[!0-9]*|0) echo "deploy-cost.sh: TASK_COUNT must be a positive integer, got '$TASK_COUNT'" >&2; exit 2 ;; esac
for v in $NOOP_VARIANTS; do
  case "$v" in pipelining=off|forks=1|factcache|persist=off|strategy=mitogen) ;;
    *) echo "deploy-cost.sh: unknown NOOP_VARIANTS entry '$v' (pipelining=off, forks=1, factcache, persist=off, strategy=mitogen)" >&2; exit 2 ;; esac
done
bench_need_lab deploy-cost.sh
if [ -n "$MITOGEN_NODE" ] || [[ " $NOOP_VARIANTS " == *" strategy=mitogen "* ]]; then
  [ -f /usr/lib/python3/dist-packages/ansible/plugins/strategy/mitogen_linear.py ] \
    || { echo "deploy-cost.sh: strategy mitogen_linear needs Debian's ansible-mitogen (scripts/deps.sh installs it)" >&2; exit 2; }
fi
mapfile -t nodes < <(lab_nodes)
in_lab() { local n; for n in "${nodes[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }
in_lab "$DEPLOY_NODE" || { echo "deploy-cost.sh: DEPLOY_NODE '$DEPLOY_NODE' is not in the lab (${nodes[*]})" >&2; exit 2; }
if [ -n "$MANUAL_NODE" ] && ! in_lab "$MANUAL_NODE"; then
  echo "deploy-cost.sh: MANUAL_NODE '$MANUAL_NODE' is not in the lab (${nodes[*]}): by-hand half skipped"; MANUAL_NODE=""
fi
[ "$MANUAL_NODE" = "$DEPLOY_NODE" ] && { echo "deploy-cost.sh: MANUAL_NODE must differ from DEPLOY_NODE" >&2; exit 2; }
if [ -n "$MITOGEN_NODE" ]; then
  in_lab "$MITOGEN_NODE" || { echo "deploy-cost.sh: MITOGEN_NODE '$MITOGEN_NODE' is not in the lab (${nodes[*]})" >&2; exit 2; }
  case " $DEPLOY_NODE $MANUAL_NODE " in *" $MITOGEN_NODE "*) echo "deploy-cost.sh: MITOGEN_NODE must differ from DEPLOY_NODE and MANUAL_NODE" >&2; exit 2 ;; esac
fi
all=$(IFS=,; echo "${nodes[*]}")
work=${KEEP_LOGS:-$(mktemp -d /tmp/bench-deploy.XXXXXX)}
mkdir -p "$work"
echo "deploy-cost.sh: lab '$RDMA_LAB' (${nodes[*]}), deploy $DEPLOY_NODE, by hand ${MANUAL_NODE:-none}; logs in $work"
echo "deploy-cost.sh: $(date -u '+%F %H:%M') UTC, host load $(bench_load), Ansible strategy ${ANSIBLE_STRATEGY:-linear (ansible.cfg)}"

play() { ansible-playbook -i "$LAB_INVENTORY" "$@"; }
declare -A T   # figures, seconds
failed=0
step() { echo "== $*"; }
timed_play() {  # timed_play KEY LOG ARGS...: one ansible-playbook run, timed; checks exit 0
  local key=$1 log=$2 t rc; shift 2
  bench_time t play "$@" > "$log" 2>&1; rc=$?
  T[$key]=$t
  if [ $rc -ne 0 ]; then
    # A failed run has no figure: its time must not reach the summary as if it had deployed.
    unset "T[$key]"
    echo "   $key: exit $rc after $t s (log $log):"; grep -E -A3 'fatal|FAILED|ERROR' "$log" | head -20; failed=1; return 1
  fi
  echo "   $key: $t s (recap: $(bench_recap "$log")) host load $(bench_load)"
}
f() { echo "${T[$1]:--}"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

if [ "$NOOP_ONLY" != 1 ]; then
# Both measured nodes must be fresh: no RDMA package, no deploy state. Checked before any change.
# shellcheck disable=SC2016 # expanded by the node's shell
fresh_probe='for p in rdma-core ibverbs-providers rdma-agent; do [ "$(dpkg-query -W -f="\${db:Status-Status}" $p 2>/dev/null)" = installed ] && echo "package $p"; done; test -e /var/lib/rdma-deploy && echo "/var/lib/rdma-deploy"; true'
for n in "$DEPLOY_NODE" $MANUAL_NODE $MITOGEN_NODE; do
  left=$("$LAB" ssh "$n" "$fresh_probe" 2>&1)
  if [ -n "$left" ]; then
    echo "deploy-cost.sh: $n is not fresh ($(echo "$left" | tr '\n' ' ')): needs a fresh lab (lab/lab down + up)" >&2; exit 2
  fi
done

# The by-hand half of 7 on MANUAL_NODE (uses deb, pkgs, netdev set below).
# shellcheck disable=SC2317 # called through bench_time
manual() {
  "$LAB" push "$MANUAL_NODE" "$deb" /tmp/rdma-agent.deb >/dev/null || return 1
  "$LAB" ssh "$MANUAL_NODE" "env PKGS='$pkgs' NETDEV='$netdev' bash -s" > "$work/manual.log" 2>&1 <<'NODE'
set -eux
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# --no-install-recommends as the deploy installs them: the same packages (with recommends, apt adds
# 3 more here: by hand did more work than the deploy it is compared with).
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $PKGS
printf '%s\n' ib_uverbs rdma_ucm rdma_rxe > /etc/modules-load.d/rdma-deploy.conf
echo 'options mlx4_core log_num_mgm_entry_size=-1' > /etc/modprobe.d/rdma-deploy.conf
echo mlx4_core > /etc/modules-load.d/rdma-params.conf
for m in ib_uverbs rdma_ucm rdma_rxe mlx4_core; do modprobe "$m"; done
cat > /etc/systemd/system/rdma-softroce.service <<EOF
[Unit]
Description=Soft-RoCE (rdma_rxe) links: rxe0
After=network.target systemd-modules-load.service sys-subsystem-net-devices-$NETDEV.device
BindsTo=sys-subsystem-net-devices-$NETDEV.device
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStartPre=/sbin/modprobe rdma_rxe
ExecStart=/bin/sh -c 'rdma link show rxe0/1 >/dev/null 2>&1 || rdma link add rxe0 type rxe netdev $NETDEV'
[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now rdma-softroce.service
apt-get install -y -q --no-install-recommends /tmp/rdma-agent.deb
rdma link show
NODE
}

step "0. prewarm (not timed): preflight, facts and the agent package for the nodes' release"
play -l "$all" playbooks/preflight.yml playbooks/facts.yml playbooks/build-agent.yml > "$work/prewarm.log" 2>&1 \
  || { echo "   prewarm failed:"; grep -E -A3 'fatal|FAILED|ERROR' "$work/prewarm.log" | head -20; exit 1; }
pkg=$(grep -oE 'rdma-agent_[^ ]+_amd64\.deb' "$work/prewarm.log" | tail -n1)
# shellcheck disable=SC2016 # expanded by the node's shell
rel=$("$LAB" ssh "$DEPLOY_NODE" '. /etc/os-release; echo "$VERSION_CODENAME"' 2>/dev/null)
deb=build/packages/$rel/$pkg
if [ -z "$pkg" ] || [ ! -s "$deb" ]; then echo "   prewarm: no agent package found ($deb)"; exit 1; fi
echo "   agent package: $deb"

step "1. baseline: playbooks/bench-baseline.yml (facts only), $RUNS runs on $DEPLOY_NODE, then on $all"
b1=() b2=()
for i in $(seq "$RUNS"); do
  timed_play "baseline1.$i" "$work/baseline1.$i.log" -l "$DEPLOY_NODE" playbooks/bench-baseline.yml && b1+=("${T[baseline1.$i]}")
done
if [ ${#nodes[@]} -ge 2 ]; then
  for i in $(seq "$RUNS"); do
    timed_play "baselineN.$i" "$work/baselineN.$i.log" -l "$all" playbooks/bench-baseline.yml && b2+=("${T[baselineN.$i]}")
  done
fi
[ ${#b1[@]} -gt 0 ] && T[baseline1]=$(median "${b1[@]}")
[ ${#b2[@]} -gt 0 ] && T[baselineN]=$(median "${b2[@]}")

# What one task costs on the node, as a module and as raw: the figure behind the deploy's ratio to
# the same steps by hand (the deploy is ~90 tasks; by hand is ~15 commands in one SSH session).
step "1b. one task's cost on $DEPLOY_NODE: /bin/true as a module (command) and raw, $TASK_COUNT each"
task_cost() {  # task_cost KEY LOG [env...]: per-task seconds of the module and raw loops
  local key=$1 log=$2; shift 2
  if env "$@" ansible-playbook -i "$LAB_INVENTORY" -l "$DEPLOY_NODE" -e "bench_task_count=$TASK_COUNT" \
       playbooks/bench-task-cost.yml > "$log" 2>&1; then
    T[$key-module]=$(awk -v n="$TASK_COUNT" '/^Task cost: module -+ /{ v = $NF; sub("s$", "", v); printf "%.2f", v / n }' "$log")
    T[$key-raw]=$(awk -v n="$TASK_COUNT" '/^Task cost: raw -+ /{ v = $NF; sub("s$", "", v); printf "%.2f", v / n }' "$log")
    echo "   $key: module $(f "$key-module") s a task, raw $(f "$key-raw") s a task"
  else
    echo "   $key: the task-cost play failed (log $log)"; failed=1
  fi
}
task_cost cost "$work/task-cost.log"
if [ -f /usr/lib/python3/dist-packages/ansible/plugins/strategy/mitogen_linear.py ]; then
  task_cost cost-mitogen "$work/task-cost-mitogen.log" ANSIBLE_STRATEGY=mitogen_linear
fi

if [ -n "$MANUAL_NODE" ]; then
  step "2. by hand on $MANUAL_NODE: apt-get update + install, modules, options, Soft-RoCE unit, agent package"
  pkgs=$("$PY" -c '
import sys, yaml
print(" ".join(yaml.safe_load(open(sys.argv[1]))["rdma_os_inbox_packages"]))' "roles/rdma_os/vars/Debian-12.yml")
  [ "$rel" = bookworm ] || echo "   note: the by-hand package list is Debian 12's (roles/rdma_os/vars/Debian-12.yml); the node runs $rel"
  netdev=$(sed -n 's/^ *rdma_softroce_netdevs: \[\([^],]*\).*/\1/p' "$LAB_INVENTORY/hosts.yml" | head -n1)
  echo "   packages: $pkgs; Soft-RoCE on ${netdev:-?}"
  if bench_time t manual; then
    T[manual]=$t; echo "   by hand: $t s ($(grep -c '^Setting up' "$work/manual.log") packages set up; $(grep -o 'link rxe0/1 state [A-Z]*' "$work/manual.log" | head -n1)) host load $(bench_load)"
  else
    echo "   by hand failed after $t s:"; tail -15 "$work/manual.log"; failed=1
  fi
fi

step "3. fresh deploy of $DEPLOY_NODE (deploy-rdma.yml, including the health gate)"
timed_play deploy "$work/deploy.log" -l "$DEPLOY_NODE" deploy-rdma.yml
grep -E '^(rdma_gate|rdma_stack|rdma_agent|rdma_txn|rdma_softroce|rdma_params|rdma_preflight)[^-]*-{3,}' "$work/deploy.log" | head -8 | sed 's/^/   | /'
gate=$(grep -oE "$DEPLOY_NODE: [^\"]*gate[^\"]*PASS[^\"]*" "$work/deploy.log" | head -n1)
[ -n "$gate" ] && echo "   gate: ${gate:0:160}"

if [ -n "$MITOGEN_NODE" ]; then
  step "3b. fresh deploy of $MITOGEN_NODE with ANSIBLE_STRATEGY=mitogen_linear (including the health gate)"
  ANSIBLE_STRATEGY=mitogen_linear timed_play deploy_mitogen "$work/deploy-mitogen.log" -l "$MITOGEN_NODE" deploy-rdma.yml
  grep -E '^(rdma_gate|rdma_stack|rdma_agent|rdma_txn|rdma_softroce|rdma_params|rdma_preflight)[^-]*-{3,}' "$work/deploy-mitogen.log" | head -8 | sed 's/^/   | /'
fi

if [ -n "$MANUAL_NODE" ]; then
  step "4. deploy of $MANUAL_NODE over its hand-made configuration (not fresh)"
  timed_play deploy_over_manual "$work/deploy-over-manual.log" -l "$MANUAL_NODE" deploy-rdma.yml
fi

fi  # NOOP_ONLY

step "5. no-op re-runs (ansible.cfg as committed)"
timed_play noop1 "$work/noop1.log" -l "$DEPLOY_NODE" deploy-rdma.yml
deployed=$DEPLOY_NODE
[ -n "$MANUAL_NODE" ] && deployed="$DEPLOY_NODE,$MANUAL_NODE"
# The mitogen node is deployed too: the no-op re-runs then cover every node of a 3-node lab (4b).
[ -n "$MITOGEN_NODE" ] && deployed="$deployed,$MITOGEN_NODE"
timed_play noopN "$work/noopN.log" -l "$deployed" deploy-rdma.yml
changed_check() {  # a no-op must change nothing on the nodes
  local r; r=$(bench_recap "$1")
  if grep -qE '/ch[1-9]' <<<"$r"; then echo "   NOTE: not a no-op: $r"; fi
}
changed_check "$work/noop1.log"; changed_check "$work/noopN.log"

step "6. no-op re-runs on $deployed, one setting changed each: ${NOOP_VARIANTS:-none}"
for v in $NOOP_VARIANTS; do
  case "$v" in
    pipelining=off) env_v=(ANSIBLE_PIPELINING=False) ;;
    forks=1) env_v=(ANSIBLE_FORKS=1) ;;
    persist=off) env_v=(ANSIBLE_SSH_ARGS=) ;;
    strategy=mitogen) env_v=(ANSIBLE_STRATEGY=mitogen_linear) ;;
    factcache) env_v=(ANSIBLE_GATHERING=smart ANSIBLE_CACHE_PLUGIN=jsonfile "ANSIBLE_CACHE_PLUGIN_CONNECTION=$work/factcache" ANSIBLE_CACHE_PLUGIN_TIMEOUT=86400)
       echo "   factcache: filling the cache (run not counted)"
       env "${env_v[@]}" ansible-playbook -i "$LAB_INVENTORY" -l "$deployed" deploy-rdma.yml > "$work/noop-factcache-fill.log" 2>&1 ;;
  esac
  bench_time t env "${env_v[@]}" ansible-playbook -i "$LAB_INVENTORY" -l "$deployed" deploy-rdma.yml > "$work/noop-$v.log" 2>&1; rc=$?
  T[noop-$v]=$t
  if [ $rc -eq 0 ]; then echo "   no-op $v: $t s (recap: $(bench_recap "$work/noop-$v.log")) host load $(bench_load)"; changed_check "$work/noop-$v.log"
  else echo "   no-op $v: exit $rc after $t s"; failed=1; fi
done

echo
echo "== summary: $RDMA_LAB, $(date -u '+%F %H:%M') UTC, host load $(bench_load), strategy ${ANSIBLE_STRATEGY:-linear}; QEMU TCG nodes: ratios, not hardware times"
echo "| measurement | nodes | wall s | ratio |"
echo "|---|---|---|---|"
echo "| baseline facts-only play (median of $RUNS) | $DEPLOY_NODE | $(f baseline1) | 1 |"
[ -n "${T[baselineN]:-}" ] && echo "| baseline facts-only play (median of $RUNS) | $all | $(f baselineN) | $(bench_ratio "$(f baselineN)" "$(f baseline1)") x 1 node |"
[ -n "${T[cost-module]:-}" ] && echo "| one task: /bin/true as a module (command), mean of $TASK_COUNT | $DEPLOY_NODE | $(f cost-module) | $(bench_ratio "$(f cost-module)" "$(f cost-raw)") x raw ($(f cost-raw) s) |"
[ -n "${T[cost-mitogen-module]:-}" ] && echo "| one task as a module, strategy mitogen_linear | $DEPLOY_NODE | $(f cost-mitogen-module) | $(bench_ratio "$(f cost-mitogen-module)" "$(f cost-module)") x linear; raw $(f cost-mitogen-raw) s |"
echo "| fresh deploy (incl. health gate) | $DEPLOY_NODE | $(f deploy) | $(bench_ratio "$(f deploy)" "$(f baseline1)") x baseline |"
[ -n "${T[manual]:-}" ] && echo "| by hand: apt-get update+install, modules, options, unit, agent .deb | $MANUAL_NODE | $(f manual) | deploy / by hand = $(bench_ratio "$(f deploy)" "$(f manual)") (goal <= 1.5) |"
[ -n "${T[deploy_mitogen]:-}" ] && echo "| fresh deploy, strategy mitogen_linear (incl. health gate) | $MITOGEN_NODE | $(f deploy_mitogen) | $(bench_ratio "$(f deploy_mitogen)" "$(f deploy)") x linear${T[manual]:+; deploy / by hand = $(bench_ratio "$(f deploy_mitogen)" "$(f manual)") (goal <= 1.5)} |"
[ -n "${T[deploy_over_manual]:-}" ] && echo "| deploy over the hand-made configuration | $MANUAL_NODE | $(f deploy_over_manual) | $(bench_ratio "$(f deploy_over_manual)" "$(f baseline1)") x baseline |"
echo "| no-op re-run | $DEPLOY_NODE | $(f noop1) | $(bench_ratio "$(f noop1)" "$(f baseline1)") x baseline |"
echo "| no-op re-run | $deployed | $(f noopN) | $(bench_ratio "$(f noopN)" "$(f noop1)") x 1 node; $(bench_ratio "$(f noopN)" "$(f baselineN)") x baseline |"
for v in $NOOP_VARIANTS; do
  echo "| no-op re-run, $v | $deployed | $(f "noop-$v") | $(bench_ratio "$(f "noop-$v")" "$(f noopN)") x ansible.cfg as committed |"
done
echo "deploy-cost.sh: logs in $work"
exit $failed
