# shellcheck shell=bash
# Shared helpers of the lab benchmarks under bench/ (sourced). Needs a running lab: LAB, RDMA_LAB,
# LAB_INVENTORY as lab/with-lab exports them (LAB_INVENTORY is read from `lab inventory` if unset).
bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The e2e suites' helpers (PY, lab_nodes, node_state, same_state, agent_statuses, ...): one
# definition of the lab's hosts and of "nothing changed" for the tests and the benchmarks.
# shellcheck source=tests/e2e/lib.sh
. "$bench_root/tests/e2e/lib.sh"
LAB=${LAB:-$bench_root/lab/lab}
export RDMA_LAB=${RDMA_LAB:-default}

# bench_need_lab NAME: exit 77 (skip, with the reason) unless the lab is up and has an inventory.
bench_need_lab() {
  if ! "$LAB" status >/dev/null 2>&1; then
    echo "SKIP  $1: lab '$RDMA_LAB' is not up (run it under lab/with-lab)"; exit 77
  fi
  LAB_INVENTORY=${LAB_INVENTORY:-$("$LAB" inventory 2>/dev/null)}
  if [ -z "$LAB_INVENTORY" ] || [ ! -e "$LAB_INVENTORY/hosts.yml" ]; then
    echo "SKIP  $1: no inventory for lab '$RDMA_LAB' (LAB_INVENTORY)"; exit 77
  fi
  export LAB_INVENTORY
}

# bench_data_ip NODE -> its address on the data network (lab_data_ip)
bench_data_ip() {
  ansible-inventory -i "$LAB_INVENTORY" --host "$1" 2>/dev/null \
    | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("lab_data_ip",""))'
}

# bench_load -> "host a b c" 1/5/15-minute load of the build host
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_time VAR CMD...: run CMD, store its wall seconds (0.1 s) in VAR; returns CMD's exit code.
bench_time() {
  local __v=$1 t0 t1 rc; shift
  t0=$(date +%s.%N); "$@"; rc=$?; t1=$(date +%s.%N)
  printf -v "$__v" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
  return $rc
}

# bench_recap LOG -> "host=ok/changed/failed ..." of the last PLAY RECAP in LOG
bench_recap() {
  awk '/PLAY RECAP/ { delete r; n = 0; on = 1; next }
       on && / : ok=/ { o = $3; c = $4; f = $6; sub("ok=", "", o); sub("changed=", "", c); sub("failed=", "", f); r[++n] = $1 "=ok" o "/ch" c "/f" f }
       on && !/ : ok=/ { on = 0 }
       END { for (i = 1; i <= n; i++) printf "%s ", r[i] }' "$1"
}

# bench_ratio A B -> A/B with 2 decimals ("-" if B is 0 or empty)
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
