#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan+UBSan, tree build-fuzz/) and runs each for
# ${FUZZ_SECONDS:-60} s, seeded with the committed fixtures. Prints the number of runs per target;
# exits non-zero on a crash (the reproducer is kept under fuzz-out/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
out=fuzz-out
command -v clang++-14 >/dev/null || { echo "fuzz: clang++-14 missing (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
echo "fuzz: configuring and building build-fuzz/ with clang++-14 (ASan, UBSan, libFuzzer)..."
CXX=clang++-14 cmake -S . -B build-fuzz -DRDMA_AGENT_FUZZ=ON -DRDMA_AGENT_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"${JOBS:-2}" --target fuzz_config fuzz_sysfs fuzz_modprobe fuzz_elf fuzz_peer >/dev/null

fx=agent/tests/fixtures
seed() {  # seed TARGET FILES...: copy seed files into the target's corpus
  local dir=$out/$1/corpus; shift
  mkdir -p "$dir"
  local i=0 f
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/seed-$((i++))"; done
  echo "$i"
}
rm -rf "$out"
mapfile -t cfg_seeds < <(find "$fx" -path '*/etc/rdma-agent/*' -type f)
mapfile -t sysfs_seeds < <(find "$fx" \( -path '*/sys/*' -type f \( -name state -o -name phys_state -o -name rate \
    -o -name abi_version -o -name vendor -o -name device -o -path '*/gids/*' \) \) -o -path '*/proc/modules' -type f \
    -o -name modules.dep -type f)
mapfile -t modprobe_seeds < <(find "$fx" \( -path '*modprobe.d/*' -o -path '*/proc/cmdline' \) -type f)
n1=$(seed config "${cfg_seeds[@]}")
printf 'stack: {expected: inbox}\nlatency: {budget_us: {median: 30, p99: 80}}\nmulticast: {group: ff12:401b::1}\n' >"$out/config/corpus/seed-extra"
n2=$(seed sysfs "${sysfs_seeds[@]}")
n3=$(seed modprobe "${modprobe_seeds[@]}")
# fuzz_elf: real binaries as seeds: the abi-scan test programs built here with and without -g
# (DWARF, versioned verbs imports), a verbs library and a provider plugin (version definitions).
elfseed=$out/elf-build
mkdir -p "$elfseed"
for p in old_verbs new_verbs inline_ctx; do
  gcc -g -O2 -I agent/tests/abi "agent/tests/abi/$p.c" -o "$elfseed/$p" -libverbs
  gcc -O2 -s -I agent/tests/abi "agent/tests/abi/$p.c" -o "$elfseed/$p-stripped" -libverbs
done
n4=$(seed elf "$elfseed"/* /usr/lib/x86_64-linux-gnu/libibverbs.so.1 /usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav*.so)
mkdir -p "$out/peer/corpus"
printf 'RDMA-AGENT-PEER/1 HELLO qpn=17 psn=4660 lid=0 gid=::ffff:10.77.0.11 mtu=1024 verify=8192 size=2 iters=1000\n' >"$out/peer/corpus/seed-0"
printf 'RDMA-AGENT-PEER/1 ACCEPT qpn=18 psn=22136 lid=0 gid=::ffff:10.77.0.12 mtu=1024 device=rxe0/1\n' >"$out/peer/corpus/seed-1"
printf 'RDMA-AGENT-PEER/1 DONE verified=8192 answered=1000\n' >"$out/peer/corpus/seed-2"
printf '[fe80::1%%eth1]:18515' >"$out/peer/corpus/seed-3"
echo "fuzz: seeds: config $((n1+1)), sysfs $n2, modprobe $n3, elf $n4, peer 4"

# Targets side by side (the machine has 2 cores): each still runs its full ${secs} s, the suite
# takes two rounds instead of five. Results are printed in a fixed order.
run_one() {  # run_one TARGET: exit status of the fuzzer; log under fuzz-out/TARGET/log
  "build-fuzz/fuzz/fuzz_$1" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$out/$1/" \
    "$out/$1/corpus" >"$out/$1/log" 2>&1
}
report() {  # report TARGET RC
  local log=$out/$1/log runs
  if [ "$2" -eq 0 ]; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    echo "PASS fuzz_$1: $runs runs in ${secs}s, no crash"
  else
    echo "FAIL fuzz_$1: crash (exit $2); reproducer and log under $out/$1/"; tail -30 "$log"; status=1
  fi
}
status=0
set +e
for round in "config sysfs" "modprobe elf peer"; do
  read -r -a ts <<<"$round"
  echo "fuzz: running ${ts[*]/#/fuzz_} side by side for ${secs}s..."
  pids=()
  for t in "${ts[@]}"; do run_one "$t" & pids+=($!); done
  rcs=()
  for p in "${pids[@]}"; do wait "$p"; rcs+=($?); done
  for i in "${!ts[@]}"; do report "${ts[$i]}" "${rcs[$i]}"; done
done
exit $status
