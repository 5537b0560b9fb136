#!/usr/bin/env bash
# TEST DOUBLE helper: the kernel modules the fake MLNX_OFED bundle ships. Like MLNX_OFED's
# mlnx-ofed-kernel it replaces the whole RDMA core, not one driver (otherwise the agent's stack check
# sees a mixed stack: core from kernel/, driver from updates/):
#   - ib_core, ib_cm, iw_cm, rdma_cm, ib_uverbs, ib_umad, rdma_ucm: Debian's own binaries for KVER,
#     taken from linux-image-KVER (apt-get download; relocated to updates/dkms by make-bundle.sh).
#     (Building them from linux-source-6.1 fails: the source is a newer 6.1 point release than the
#     lab kernel and its core uses newer kernel interfaces.)
#   - rdma_rxe: Debian's linux-source-6.1 + patches/rxe-lab (as tests/kernel/build-rxe-module.sh),
#     built against the headers of KVER (the lab node's `uname -r`; the vermagic must match).
# Cached: build-bundle/rxe/<KVER>/*.ko.
#   usage: build-module.sh KVER [OUTDIR]     env: KSTACK_LINUX_SOURCE, JOBS (default 1)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
kver=${1:?usage: build-module.sh KVER [OUTDIR]}
out=${2:-$repo/build-bundle/rxe/$kver}
src=${KSTACK_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
kdir=/usr/src/linux-headers-$kver
core=(ib_core ib_cm iw_cm rdma_cm ib_uverbs ib_umad rdma_ucm)
[ -f "$src" ] || { echo "build-module: $src absent (apt-get install linux-source-6.1)" >&2; exit 77; }
[ -f "$kdir/Makefile" ] || { echo "build-module: no headers for $kver at $kdir (apt-get install linux-headers-$kver)" >&2; exit 77; }
mkdir -p "$out"
cached=1
for m in "${core[@]}" rdma_rxe; do
  if ! { [ -f "$out/$m.ko" ] && modinfo -F vermagic "$out/$m.ko" | grep -q "^$kver "; }; then cached=0; fi
done
if [ $cached = 1 ]; then echo "build-module: cached $out (${core[*]} rdma_rxe)"; exit 0; fi
work=$(mktemp -d /tmp/bundle-rxe.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "--> RDMA core modules of linux-image-$kver (apt-get download into $repo/build-bundle/debcache)"
mkdir -p "$repo/build-bundle/debcache"
img=$(find "$repo/build-bundle/debcache" -name "linux-image-${kver}_*.deb" | head -1)
if [ -z "$img" ]; then
  (cd "$repo/build-bundle/debcache" && apt-get download -q "linux-image-$kver")
  img=$(find "$repo/build-bundle/debcache" -name "linux-image-${kver}_*.deb" | head -1)
fi
dpkg-deb --fsys-tarfile "$img" | tar -x -C "$work" --wildcards "./lib/modules/$kver/kernel/drivers/infiniband/core/*.ko"
for m in "${core[@]}"; do cp "$work/lib/modules/$kver/kernel/drivers/infiniband/core/$m.ko" "$out/$m.ko"; done

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
strip --strip-debug -o "$out/rdma_rxe.ko" "$ko"   # as Debian ships its modules
echo "build-module: $out: ${core[*]} (Debian's) + rdma_rxe $(modinfo -F version "$out/rdma_rxe.ko")"
