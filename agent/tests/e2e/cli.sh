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
step "latency --samples into a missing directory" 3 "--samples $tmp/nodir/s.txt: directory $tmp/nodir does not exist" -- \
  "$agent" latency --device rxe0 --samples "$tmp/nodir/s.txt"
# --interval: one process, a cycle every interval, --count cycles (or until SIGTERM).
step "--count needs --interval" 3 '--count needs --interval' -- "$agent" check "${only[@]}" --root "$root" --count 2
step "--interval below 0.05 s is refused" 3 'interval' -- "$agent" check "${only[@]}" --root "$root" --interval 0.01
step "--interval --count 3 runs three cycles" 0 '' -- "$agent" check "${only[@]}" --root "$root" --format json --interval 0.05 --count 3
n=$(grep -c '"schema_version"' "$tmp/out")
if [ "$n" -eq 3 ]; then echo "PASS --interval --count 3: 3 reports"; else echo "FAIL --interval --count 3: $n reports"; fails=$((fails+1)); fi
"$agent" check "${only[@]}" --root "$root" --format prometheus --interval 0.05 --output "$tmp/loop.prom" 2>"$tmp/loop.err" &
lpid=$!
for _ in $(seq 100); do [ -s "$tmp/loop.prom" ] && break; sleep 0.05; done
sleep 0.3
kill -TERM "$lpid"; wait "$lpid"; lrc=$?
if [ "$lrc" -eq 0 ] && grep -q '^rdma_agent_exit_code 0$' "$tmp/loop.prom"; then
  echo "PASS --interval until SIGTERM: the report file written, exit 0 (the last cycle's)"
else echo "FAIL --interval until SIGTERM: exit $lrc"; sed 's/^/  /' "$tmp/loop.err" | head -5; fails=$((fails+1)); fi
# Cross-node: argument errors, a peer nobody serves, and serve's refusal of a foreign client.
# Loopback only (127.0.0.1): no traffic leaves this machine.
step "--only peer needs --peer" 3 'needs --peer HOST' -- "$agent" check --only peer --root "$root"
step "--peer IPv6 without brackets" 3 'needs brackets' -- "$agent" check --peer fe80::1 --root "$root"
step "--peer with nobody serving fails the peer check" 2 "Connection refused \\(is .rdma-agent serve. running there\\?\\)" -- \
  "$agent" check --only peer --peer 127.0.0.1:1 --peer-timeout-ms 500 --format json --root "$root"
port=$((20000 + RANDOM % 20000))
"$agent" serve --listen 127.0.0.1 --tcp-port "$port" --connections 1 --idle-timeout 20 --root "$root" 2>"$tmp/serve.err" &
spid=$!
answer=""
for _ in $(seq 50); do
  answer=$(/usr/bin/python3 -c 'import socket,sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
except OSError:
    sys.exit(1)
s.sendall(b"GET / HTTP/1.0\r\n"); print(s.recv(600).decode().strip())' "$port") && break
  sleep 0.1
done
wait "$spid"; src=$?
if [ "$src" -eq 1 ] && [[ "$answer" == "RDMA-AGENT-PEER/1 ERROR not an rdma-agent peer line"* ]] \
   && grep -q "failed: bad HELLO from 127.0.0.1" "$tmp/serve.err"; then
  echo "PASS serve refuses a foreign client with an ERROR line and exits 1"
else echo "FAIL serve refusal: exit $src, answer '$answer'"; sed 's/^/  /' "$tmp/serve.err" | head -5; fails=$((fails+1)); fi
step "serve exits 2 when nobody comes" 2 'no connection for 1 s' -- "$agent" serve --listen 127.0.0.1 --tcp-port "$port" --idle-timeout 1 --root "$root"
step "serve --listen must be an address" 3 'not an IPv4 or IPv6 address' -- "$agent" serve --listen nowhere --root "$root"
if [ "$fails" -ne 0 ]; then echo "cli: $fails step(s) failed"; exit 1; fi
echo "cli: all steps passed"
