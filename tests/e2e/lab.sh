#!/usr/bin/env bash
# End-to-end test of the lab itself, with rdma-core's and perftest's tools (not the agent), on an
# already running lab (env LAB = lab/lab, RDMA_LAB, LAB_INVENTORY; see lab/with-lab):
#   setup     install rdma-core ibverbs-utils rdmacm-utils perftest if missing (one apt-get per
#             node, nodes in parallel), load rdma_rxe, create rxe0 on the data NIC if missing
#   node1     ibv_rc_pingpong and ib_send_lat loopback (prints t_typical)
#   mlx4      log_num_mgm_entry_size: default 10; configured -1 but not reloaded -> still 10;
#             reloaded -> -1 (the node's own modprobe.d settings are restored afterwards)
#   2 nodes   ibv_rc_pingpong node1 -> node2 and mckey node1 -> node2 over 10.77.0.0/24
#             (one node: mckey loopback on node1)
#   reset     `lab reset node1`: back through GRUB (new boot_id, BOOT_IMAGE= in /proc/cmdline)
# Idempotent: works on fresh nodes and on nodes the deploy playbook already set up.
# Exit 0 pass, 1 fail, 77 skipped (no running lab).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
LAB=${LAB:-$here/lab/lab}
export RDMA_LAB=${RDMA_LAB:-default}
LAB_INVENTORY=${LAB_INVENTORY:-$("$LAB" inventory)}
hosts=$LAB_INVENTORY/hosts.yml
t_start=$(date +%s)

if ! "$LAB" status >/dev/null 2>&1; then
  echo "SKIP lab.sh: lab '$RDMA_LAB' is not up (run it under lab/with-lab, or: $LAB up --nodes 2)"
  exit 77
fi
[ -f "$hosts" ] || { echo "FAIL lab.sh: no inventory $hosts"; exit 1; }
mapfile -t nodes < <(sed -n 's/^ \{12\}\(node[0-9]\+\):$/\1/p' "$hosts")
netdev=$(sed -n 's/^ *rdma_softroce_netdevs: \[\([^],]*\).*/\1/p' "$hosts")
if [ ${#nodes[@]} -lt 1 ] || [ -z "$netdev" ]; then echo "FAIL lab.sh: cannot read nodes/netdev from $hosts"; exit 1; fi
data_ip() { sed -n "/^ \{12\}$1:\$/,/lab_data_ip/s/^ *lab_data_ip: //p" "$hosts"; }
echo "lab.sh: lab '$RDMA_LAB': ${nodes[*]}, data NIC $netdev"

failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failed=$((failed+1)); }
on() { local n=$1 t=$2; shift 2; timeout "$t" "$LAB" ssh "$n" "$@"; }
indent() { sed 's/^/    | /'; }

# ---------------------------------------------------------------------------------------- setup
# The node side reads its script from stdin (quoted heredoc: no host-side expansion).
setup_script=$(cat <<'EOS'
set -e
pkgs="rdma-core ibverbs-utils rdmacm-utils perftest"
missing=""
for p in $pkgs; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installed:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  timeout 900 apt-get install -y -q --no-install-recommends $missing >/tmp/lab-e2e-apt.log 2>&1 || {
    timeout 300 apt-get update -q >>/tmp/lab-e2e-apt.log 2>&1
    timeout 900 apt-get install -y -q --no-install-recommends $missing >>/tmp/lab-e2e-apt.log 2>&1
  } || { tail -20 /tmp/lab-e2e-apt.log >&2; exit 1; }
fi
modprobe rdma_rxe
# The rxe device on the data NIC (the deploy may have made one under another name).
dev=$(rdma link show | awk -v nd="$NETDEV" '{for (i = 1; i < NF; i++) if ($i == "netdev" && $(i+1) == nd) {split($2, a, "/"); print a[1]; exit}}')
if [ -z "$dev" ]; then
  rdma link add rxe0 type rxe netdev "$NETDEV"
  dev=rxe0
fi
# Its RoCEv2 GID for the data IPv4 address (::ffff:a.b.c.d); print "DEV GIDINDEX".
ip=$(ip -o -4 addr show dev "$NETDEV" | awk '{split($4, a, "/"); print a[1]; exit}')
# shellcheck disable=SC2046
want=$(printf '0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x' $(echo "$ip" | tr . ' '))
for _ in $(seq 0 30); do
  for g in /sys/class/infiniband/"$dev"/ports/1/gids/*; do
    [ "$(cat "$g" 2>/dev/null)" = "$want" ] && { echo "$dev $(basename "$g")"; exit 0; }
  done
  sleep 1
done
echo "no GID $want on $dev" >&2; exit 1
EOS
)
declare -A dev gid
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for n in "${nodes[@]}"; do
  ( on "$n" 1200 "NETDEV=$netdev bash -s" <<<"$setup_script" >"$tmp/$n.out" 2>"$tmp/$n.err"
    echo $? >"$tmp/$n.rc" ) &
done
wait
for n in "${nodes[@]}"; do
  if [ "$(cat "$tmp/$n.rc")" = 0 ]; then
    read -r dev["$n"] gid["$n"] <"$tmp/$n.out"
    pass "setup $n: packages present, rdma_rxe loaded, ${dev[$n]} on $netdev (GID index ${gid[$n]}) [$(tr '\n' ' ' <"$tmp/$n.err")]"
  else
    fail "setup $n (exit $(cat "$tmp/$n.rc")):"; indent <"$tmp/$n.err"
  fi
done
n1=${nodes[0]}
if [ -z "${dev[$n1]:-}" ]; then echo "lab.sh: no verbs device on $n1, stopping"; exit 1; fi
d1=${dev[$n1]} g1=${gid[$n1]}

# ---------------------------------------------------------------------------------------- node1
out=$(on "$n1" 90 "timeout 40 ibv_rc_pingpong -d $d1 -g $g1 -n 200 & sleep 2;
  timeout 40 ibv_rc_pingpong -d $d1 -g $g1 -n 200 localhost; c=\$?; wait \$!; s=\$?; echo rc=\$c/\$s" 2>&1)
if grep -q 'rc=0/0' <<<"$out" && grep -q 'bytes in' <<<"$out"; then
  pass "ibv_rc_pingpong loopback on $n1 ($(grep -m1 'bytes in' <<<"$out"))"
else fail "ibv_rc_pingpong loopback on $n1"; indent <<<"$out"; fi

# perftest turns TSC ticks into microseconds with a CPU MHz it samples at start; on a loaded TCG
# host that sampling can fail ("Correlation coefficient r^2 ... < 0.9") and every figure reads
# "inf". Up to 3 tries for a finite figure; a completed run without one still proves the verbs path.
for try in 1 2 3; do
  out=$(on "$n1" 120 "timeout 60 ib_send_lat -d $d1 -x $g1 -n 200 >/tmp/lat-srv.log 2>&1 & sleep 2;
    timeout 60 ib_send_lat -d $d1 -x $g1 -n 200 localhost; c=\$?; wait \$!; s=\$?; echo rc=\$c/\$s" 2>&1)
  # Result line: #bytes #iterations t_min t_max t_typical t_avg t_stdev 99% 99.9%
  lat=$(awk '$1 == 2 && $2 == 200 {print $5}' <<<"$out")
  [[ "$lat" =~ ^[0-9.]+$ ]] && break
done
if grep -q 'rc=0/0' <<<"$out" && [[ "$lat" =~ ^[0-9.]+$ ]]; then
  pass "ib_send_lat loopback on $n1: t_typical ${lat} us (2 bytes, 200 iterations, RC; try $try)"
elif grep -q 'rc=0/0' <<<"$out" && [ "$lat" = inf ] && grep -q 'Correlation coefficient' <<<"$out"; then
  pass "ib_send_lat loopback on $n1: 200 iterations completed, t_typical not measurable ($(grep -m1 'Correlation coefficient' <<<"$out" | tr -s ' '): perftest's CPU MHz sampling failed under host load, 3 tries)"
else fail "ib_send_lat loopback on $n1"; indent <<<"$out"; fi

# ---------------------------------------------------------------------------------------- mlx4
mlx4_script=$(cat <<'EOS'
set -u
p=/sys/module/mlx4_core/parameters/log_num_mgm_entry_size
saved=/root/lab-e2e-mlx4-saved; mkdir -p $saved
was_loaded=0; [ -d /sys/module/mlx4_core ] && was_loaded=1
unload() { modprobe -r mlx4_ib mlx4_en 2>/dev/null; modprobe -r mlx4_core; }
# Set aside the node's own settings of the parameter (the deploy may have written some).
for f in $(grep -l log_num_mgm_entry_size /etc/modprobe.d/*.conf 2>/dev/null); do mv "$f" $saved/; done
[ $was_loaded = 1 ] && unload
a=ERR; modprobe mlx4_core && a=$(cat $p)
echo "options mlx4_core log_num_mgm_entry_size=-1" > /etc/modprobe.d/zz-lab-e2e-mlx4.conf
b=$(cat $p)                               # configured, not reloaded: the old value stays
c=ERR; unload && modprobe mlx4_core && c=$(cat $p)
echo "default=$a configured_not_reloaded=$b reloaded=$c"
# Restore: drop the test file, put the node's files back, leave the module as it was.
rm -f /etc/modprobe.d/zz-lab-e2e-mlx4.conf
mv $saved/* /etc/modprobe.d/ 2>/dev/null; rmdir $saved
unload; [ $was_loaded = 1 ] && modprobe mlx4_core
[ "$a" = 10 ] && [ "$b" = 10 ] && [ "$c" = -1 ]
EOS
)
if out=$(on "$n1" 120 "bash -s" <<<"$mlx4_script" 2>&1); then
  pass "mlx4_core log_num_mgm_entry_size on $n1 (no hardware): $(tail -1 <<<"$out")"
else fail "mlx4_core log_num_mgm_entry_size on $n1 (want default=10 configured_not_reloaded=10 reloaded=-1)"; indent <<<"$out"; fi

# ---------------------------------------------------------------------------------------- 2 nodes
mckey_pair() {  # receiver sender: mckey 239.1.1.1 via the data IPs; prints outputs
  local rx=$1 tx=$2 rxip txip
  rxip=$(data_ip "$rx"); txip=$(data_ip "$tx")
  on "$rx" 120 "timeout 100 stdbuf -oL mckey -m 239.1.1.1 -b $rxip -C 5" </dev/null >"$tmp/mck-rx" 2>&1 &
  local rxpid=$! i
  # Start the sender only once the receiver has joined (UD multicast: earlier datagrams are lost).
  for i in $(seq 1 60); do
    grep -q 'receiving data transfers' "$tmp/mck-rx" 2>/dev/null && break
    kill -0 $rxpid 2>/dev/null || break
    sleep 1
  done
  sleep 1
  on "$tx" 60 "timeout 30 mckey -m 239.1.1.1 -b $txip -s -C 5" >"$tmp/mck-tx" 2>&1
  local txrc=$?
  wait $rxpid; local rxrc=$?
  echo "sender rc=$txrc receiver rc=$rxrc, sender started ${i}s after the receiver"
  [ $txrc = 0 ] && [ $rxrc = 0 ] && grep -q 'return status 0' "$tmp/mck-rx" && grep -q 'return status 0' "$tmp/mck-tx"
}

if [ ${#nodes[@]} -ge 2 ]; then
  n2=${nodes[1]}; d2=${dev[$n2]:-}; ip2=$(data_ip "$n2")
  if [ -z "$d2" ]; then fail "two-node tests: no verbs device on $n2"
  else
    on "$n2" 60 "timeout 45 ibv_rc_pingpong -d $d2 -g ${gid[$n2]} -n 200" </dev/null >"$tmp/pp-srv" 2>&1 &
    srv=$!
    sleep 4
    out=$(on "$n1" 60 "timeout 40 ibv_rc_pingpong -d $d1 -g $g1 -n 200 $ip2" 2>&1); crc=$?
    wait $srv; src=$?
    if [ $crc = 0 ] && [ $src = 0 ] && grep -q 'bytes in' <<<"$out"; then
      pass "ibv_rc_pingpong $n1 -> $n2 ($ip2) over the data segment ($(grep -m1 'bytes in' <<<"$out"))"
    else fail "ibv_rc_pingpong $n1 -> $n2 (client rc=$crc server rc=$src)"; indent <<<"$out"; indent <"$tmp/pp-srv"; fi

    if res=$(mckey_pair "$n2" "$n1"); then
      pass "mckey multicast 239.1.1.1 $n1 -> $n2 ($res, both 'return status 0')"
    else fail "mckey $n1 -> $n2 ($res)"; indent <"$tmp/mck-tx"; indent <"$tmp/mck-rx"; fi
  fi
else
  if res=$(mckey_pair "$n1" "$n1"); then pass "mckey multicast loopback on $n1 ($res)"
  else fail "mckey loopback on $n1 ($res)"; indent <"$tmp/mck-tx"; indent <"$tmp/mck-rx"; fi
fi

# ---------------------------------------------------------------------------------------- reset
before=$(on "$n1" 30 cat /proc/sys/kernel/random/boot_id)
t0=$(date +%s)
if "$LAB" reset "$n1" >"$tmp/reset" 2>&1; then
  after=$(on "$n1" 30 'cat /proc/sys/kernel/random/boot_id; cat /proc/cmdline')
  id2=$(head -1 <<<"$after"); cmdline=$(tail -1 <<<"$after")
  if [ -n "$before" ] && [ -n "$id2" ] && [ "$before" != "$id2" ] && [[ "$cmdline" == *BOOT_IMAGE=* ]]; then
    pass "lab reset $n1: back in $(( $(date +%s) - t0 )) s through GRUB (boot_id changed; cmdline: ${cmdline%% root=*})"
  else fail "lab reset $n1: boot_id $before -> $id2, cmdline: $cmdline"; fi
else fail "lab reset $n1"; indent <"$tmp/reset"; fi

echo "lab.sh: $failed step(s) failed; $(( $(date +%s) - t_start )) s"
[ "$failed" = 0 ]
