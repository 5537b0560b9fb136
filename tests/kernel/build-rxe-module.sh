#!/usr/bin/env bash
# Slow check (minutes; NOT part of run.sh): build rdma_rxe from Debian's linux-source-6.1 with the
# patches/rxe-lab series applied, out of tree against installed Debian kernel headers, and prove
# with modinfo that the built module carries the series' version, tag and parameter. Does not load
# anything (this host has no module support). Exit 0 pass, 1 fail, 77 skipped (reason printed).
#   env: KSTACK_LINUX_SOURCE (default /usr/src/linux-source-6.1.tar.xz),
#        KDIR (default: newest /usr/src/linux-headers-*-amd64), JOBS (default 2)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
src=${KSTACK_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
kdir=${KDIR:-$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' 2>/dev/null | sort -V | tail -1)}
jobs=${JOBS:-2}
[ -f "$src" ] || { echo "SKIP: $src absent (apt-get install linux-source-6.1)"; exit 77; }
if [ -z "$kdir" ] || [ ! -f "$kdir/Makefile" ]; then
  echo "SKIP: no kernel headers (apt-get install linux-headers-amd64)"; exit 77
fi
command -v modinfo >/dev/null || { echo "SKIP: modinfo missing (apt-get install kmod)"; exit 77; }
work=$(mktemp -d /tmp/kstack-rxe-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "--> extracting drivers/infiniband/sw/rxe from $src (one pass through the archive)"
prefix=$(tar -tf "$src" 2>/dev/null | head -1 | cut -d/ -f1 || true)  # tar gets SIGPIPE
tar -xf "$src" -C "$work" --strip-components=1 "$prefix/drivers/infiniband/sw/rxe"
echo "--> dry-run + apply patches/rxe-lab (kstack)"
"$repo/tools/kstack/kstack" series dry-run "$repo/patches/rxe-lab" --tree "$work" --keep "$work/patched"
cp -a "$work/patched/." "$work/"
echo "--> building rdma_rxe.ko against $kdir (-j$jobs)"
start=$(date +%s)
make -s -C "$kdir" M="$work/drivers/infiniband/sw/rxe" CONFIG_RDMA_RXE=m -j"$jobs" modules
echo "    built in $(( $(date +%s) - start )) s"
ko="$work/drivers/infiniband/sw/rxe/rdma_rxe.ko"
fail=0
check() { if modinfo -F "$1" "$ko" | grep -qx -- "$2"; then echo "PASS: modinfo $1 = $2"; else echo "FAIL: modinfo $1 is '$(modinfo -F "$1" "$ko" | tr '\n' ' ')', expected '$2'"; fail=1; fi; }
check version "6.1-rdma-deploy-rxe-lab.1"
check rdma_deploy_series "rxe-lab"
check parm "rdma_deploy_series:rdma-deploy patch series built into this module (read-only) (string)"
# UTS_RELEASE is what the headers' kernel calls itself (Debian's kernel.release holds the upstream
# version instead).
release=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h" 2>/dev/null || true)
[ -n "$release" ] || release=$(basename "$kdir" | sed 's/^linux-headers-//')
case "$(modinfo -F vermagic "$ko")" in
  "$release "*) echo "PASS: vermagic matches $release" ;;
  *) echo "FAIL: vermagic '$(modinfo -F vermagic "$ko")' is not for $release"; fail=1 ;;
esac
[ $fail -eq 0 ] && echo "build-rxe-module: PASS" || echo "build-rxe-module: FAIL"
exit $fail
