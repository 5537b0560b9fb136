#!/usr/bin/env bash
# TEST DOUBLE helper: build the kernel module the fake MLNX_OFED bundle ships: rdma_rxe from
# Debian's linux-source-6.1 with patches/rxe-lab applied (as tests/kernel/build-rxe-module.sh),
# against the headers of the LAB NODE's kernel (KVER, e.g. 6.1.0-50-amd64: `uname -r` on the node;
# the vermagic must match or the node refuses to load it). Cached: build-bundle/rxe/<KVER>/rdma_rxe.ko.
#   usage: build-module.sh KVER [OUTDIR]     env: KSTACK_LINUX_SOURCE, JOBS (default 1)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
kver=${1:?usage: build-module.sh KVER [OUTDIR]}
out=${2:-$repo/build-bundle/rxe/$kver}
src=${KSTACK_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
kdir=/usr/src/linux-headers-$kver
[ -f "$src" ] || { echo "build-module: $src absent (apt-get install linux-source-6.1)" >&2; exit 77; }
[ -f "$kdir/Makefile" ] || { echo "build-module: no headers for $kver at $kdir (apt-get install linux-headers-$kver)" >&2; exit 77; }
if [ -f "$out/rdma_rxe.ko" ] && modinfo -F vermagic "$out/rdma_rxe.ko" | grep -q "^$kver "; then
  echo "build-module: cached $out/rdma_rxe.ko"; exit 0
fi
work=$(mktemp -d /tmp/bundle-rxe.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "--> extracting drivers/infiniband/sw/rxe from $src (one pass through the archive, ~1-2 min)"
prefix=$(tar -tf "$src" 2>/dev/null | head -1 | cut -d/ -f1 || true)
tar -xf "$src" -C "$work" --strip-components=1 "$prefix/drivers/infiniband/sw/rxe"
echo "--> applying patches/rxe-lab"
"$repo/tools/kstack/kstack" series dry-run "$repo/patches/rxe-lab" --tree "$work" --keep "$work/patched"
cp -a "$work/patched/." "$work/"
echo "--> building rdma_rxe.ko against $kdir (-j${JOBS:-1})"
start=$(date +%s)
make -s -C "$kdir" M="$work/drivers/infiniband/sw/rxe" CONFIG_RDMA_RXE=m -j"${JOBS:-1}" modules
echo "    built in $(( $(date +%s) - start )) s"
ko="$work/drivers/infiniband/sw/rxe/rdma_rxe.ko"
case "$(modinfo -F vermagic "$ko")" in
  "$kver "*) ;;
  *) echo "build-module: vermagic '$(modinfo -F vermagic "$ko")' is not for $kver" >&2; exit 1 ;;
esac
mkdir -p "$out"
strip --strip-debug -o "$out/rdma_rxe.ko" "$ko"   # as Debian ships its modules
echo "build-module: $out/rdma_rxe.ko ($(modinfo -F version "$out/rdma_rxe.ko"))"
