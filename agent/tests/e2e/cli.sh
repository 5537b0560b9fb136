#!/usr/bin/env bash
# CLI end-to-end: the real binary's exit codes and error messages for bad input, --output,
# the formats and `facts`, on the committed fixtures. Prints PASS/FAIL per step.
# Usage: cli.sh RDMA_AGENT FIXTURES_DIR
set -uo pipefail
agent=$1 fx=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
step() {  # step NAME WANT_RC GREP_PATTERN -- CMD...
  local name=$1 want=$2 pat=$3; shift 4
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" -ne "$want" ]; then echo "FAIL $name: exit $rc, want $want"; sed 's/^/  /' "$tmp/err" | head -5; fails=$((fails+1)); return; fi
  if [ -n "$pat" ] && ! grep -qE -- "$pat" "$tmp/out" "$tmp/err"; then
    echo "FAIL $name: output lacks /$pat/"; head -5 "$tmp/out" "$tmp/err" | sed 's/^/  /'; fails=$((fails+1)); return; fi
  echo "PASS $name"
}
root="$fx/hand-mlx5-roce"
only=(--only "stack,devices,mlx4_steering")
step "--version" 0 '^rdma-agent [0-9]+\.[0-9]+\.[0-9]+' -- "$agent" --version
step "--help" 0 'check' -- "$agent" --help
step "no subcommand is a usage error" 3 '' -- "$agent"
step "unknown check in --only" 3 "unknown check 'nope'" -- "$agent" check --only nope --root "$root"
step "unknown format" 3 "--format xml: expected text, json, nagios or prometheus" -- "$agent" check --format xml --root "$root"
step "--root that is not a directory" 3 "--root $tmp/none: not a directory" -- "$agent" check --root "$tmp/none"
printf 'stack:\n  expected: inbox\nverbs:\n  timeout: 5\n' >"$tmp/bad.yaml"
step "unknown config key: file:line:column" 3 "$tmp/bad.yaml:4:3: unknown key 'timeout' in verbs" -- "$agent" check --config "$tmp/bad.yaml" --root "$root"
printf 'multicast: {group: 10.1.1.1}\n' >"$tmp/addr.yaml"
step "invalid multicast address" 3 "$tmp/addr.yaml:1:20: expected an IPv4 multicast address" -- "$agent" check --config "$tmp/addr.yaml" --root "$root"
step "missing --config file" 3 "$tmp/none.yaml: cannot read the config file" -- "$agent" check --config "$tmp/none.yaml" --root "$root"
step "passing fixture exits 0" 0 '^overall: PASS' -- "$agent" check "${only[@]}" --root "$root"
step "warning fixture exits 1" 1 '^RDMA WARNING - mlx4_steering' -- "$agent" check "${only[@]}" --format nagios --root "$fx/hand-cx3-dmfs"
step "failing fixture exits 2" 2 '"status": "fail"' -- "$agent" check "${only[@]}" --format json --root "$fx/hand-garbage"
step "prometheus gauges" 0 '^rdma_agent_check_status\{check="devices"\} 0$' -- "$agent" check "${only[@]}" --format prometheus --root "$root"
step "--output writes the file" 0 '' -- "$agent" check "${only[@]}" --format prometheus --root "$root" --output "$tmp/rdma.prom"
leftover=("$tmp"/.rdma.prom.tmp.*)
if grep -q '^rdma_agent_exit_code 0$' "$tmp/rdma.prom" 2>/dev/null && [ ! -e "${leftover[0]}" ]; then
  echo "PASS --output content, no temporary file left"; else echo "FAIL --output content"; fails=$((fails+1)); fi
step "--output into a missing directory" 3 "directory $tmp/nodir does not exist" -- "$agent" check --root "$root" --output "$tmp/nodir/x.prom"
step "facts is one JSON document" 0 '"rdma_core_version": "44.0"' -- "$agent" facts --root "$root"
if /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["devices"][0]["pci_id"]=="15b3:1017", d["devices"][0]["pci_id"]; assert d["devices"][0]["ports"][0]["default_roce_mode"]=="RoCE v2"' "$tmp/out"; then
  echo "PASS facts content"; else echo "FAIL facts content"; fails=$((fails+1)); fi
step "latency needs --device" 3 'device' -- "$agent" latency
if [ "$fails" -ne 0 ]; then echo "cli: $fails step(s) failed"; exit 1; fi
echo "cli: all steps passed"
