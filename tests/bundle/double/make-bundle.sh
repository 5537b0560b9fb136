#!/usr/bin/env bash
# TEST DOUBLE: build a fake MLNX_OFED bundle on the control node, NOT a stack and never shipped:
#   build-bundle/MLNX_OFED_LINUX-<VER>-debian12.x-x86_64-TEST-DOUBLE.tgz  (+ .sha256)
# Layout as NVIDIA's tarball ("Installing MLNX_OFED"): <dir>/mlnxofedinstall, DEBS/*.deb,
# distro, .arch, .mlnx. Packages, all built here with dpkg-deb (nothing vendored):
#   - Debian bookworm's rdma-core family (apt-get download), repacked with the version tag
#     "<orig>.mlnx<VER>" (MLNX_OFED ships its own rdma-core build under the same package names),
#   - ofed-scripts: ofed_info, /usr/sbin/ofed_uninstall.sh,
#   - mlnx-ofed-kernel-utils: /etc/init.d/openibd,
#   - mlnx-ofed-kernel-modules: rdma_rxe.ko (Debian's linux-source-6.1 + patches/rxe-lab, built for
#     KVER by build-module.sh) under /lib/modules/<KVER>/updates/dkms/.
#   usage: make-bundle.sh [--version VER] [--kernel KVER] [--out DIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
here=$(cd "$(dirname "$0")" && pwd)
ver=24.10-0.9.9.9 kver=6.1.0-50-amd64 out=$repo/build-bundle distro=debian12.x
while [ $# -gt 0 ]; do
  case "$1" in
    --version) ver=$2; shift ;;
    --kernel) kver=$2; shift ;;
    --out) out=$2; shift ;;
    --distro) distro=$2; shift ;;
    *) echo "make-bundle: unknown option $1" >&2; exit 2 ;;
  esac; shift
done
name=MLNX_OFED_LINUX-$ver-$distro-x86_64-TEST-DOUBLE
tag=.mlnx$(echo "$ver" | tr -c '0-9.\n' '.')
mkdir -p "$out"
"$here/build-module.sh" "$kver" "$out/rxe/$kver"
work=$(mktemp -d /tmp/bundle-double.XXXXXX)
trap 'rm -rf "$work"' EXIT
b=$work/$name
mkdir -p "$b/DEBS" "$out/debcache"
echo "--> Debian's rdma-core family (apt-get download into $out/debcache)"
pkgs=(rdma-core ibverbs-providers libibverbs1 librdmacm1 ibverbs-utils rdmacm-utils infiniband-diags
      libibumad3 libibmad5 libibnetdisc5 perftest)
(cd "$out/debcache" && for p in "${pkgs[@]}"; do ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download -q "$p"; done)
for p in "${pkgs[@]}"; do
  deb=$(find "$out/debcache" -name "${p}_*.deb" | head -1)
  x=$work/x-$p
  dpkg-deb -R "$deb" "$x"
  orig=$(sed -n 's/^Version: //p' "$x/DEBIAN/control")
  new=$orig$tag
  # exact-version relations inside the family follow the new version
  sed -i -e "s/^Version: .*/Version: $new/" -e "s/(= $orig)/(= $new)/g" "$x/DEBIAN/control"
  sed -i "s/^Description: \(.*\)/Description: \1 (MLNX_OFED TEST DOUBLE repack)/" "$x/DEBIAN/control"
  dpkg-deb --root-owner-group -Zxz -b "$x" "$b/DEBS/${p}_${new}_amd64.deb" >/dev/null
done
mkpkg() { # name version description dir
  mkdir -p "$4/DEBIAN"
  cat > "$4/DEBIAN/control" <<C
Package: $1
Version: $2
Architecture: amd64
Maintainer: rdma-deploy tests <root@localhost>
Section: misc
Priority: optional
Description: $3
 TEST DOUBLE of an MLNX_OFED package (rdma-deploy tests/bundle/double); not NVIDIA's software.
C
  dpkg-deb --root-owner-group -Zxz -b "$4" "$b/DEBS/${1}_${2}_amd64.deb" >/dev/null
}
pv=$(echo "$ver" | tr - .)
d=$work/p-ofed-scripts; mkdir -p "$d/usr/bin" "$d/usr/sbin"
sed "s/@VER@/$ver/g" "$here/files/ofed_info" > "$d/usr/bin/ofed_info"
cp "$here/files/ofed_uninstall.sh" "$d/usr/sbin/ofed_uninstall.sh"
chmod 755 "$d/usr/bin/ofed_info" "$d/usr/sbin/ofed_uninstall.sh"
mkpkg ofed-scripts "$pv.mlnx" "ofed_info and ofed_uninstall.sh (TEST DOUBLE)" "$d"
d=$work/p-utils; mkdir -p "$d/etc/init.d" "$d/etc/infiniband"
cp "$here/files/openibd" "$d/etc/init.d/openibd"; chmod 755 "$d/etc/init.d/openibd"
printf '# TEST DOUBLE of MLNX_OFED openib.conf\nONBOOT=yes\n' > "$d/etc/infiniband/openib.conf"
mkpkg mlnx-ofed-kernel-utils "$pv.mlnx" "openibd (TEST DOUBLE)" "$d"
d=$work/p-mod; mkdir -p "$d/lib/modules/$kver/updates/dkms"
cp "$out/rxe/$kver/"*.ko "$d/lib/modules/$kver/updates/dkms/"
mkdir -p "$d/DEBIAN"
printf '#!/bin/sh\nset -e\ndepmod -a %s\n' "$kver" > "$d/DEBIAN/postinst"
printf '#!/bin/sh\nset -e\ndepmod -a %s || true\n' "$kver" > "$d/DEBIAN/postrm"
chmod 755 "$d/DEBIAN/postinst" "$d/DEBIAN/postrm"
mkpkg mlnx-ofed-kernel-modules "$pv.mlnx" "RDMA core + patched rdma_rxe for $kver in updates/dkms (TEST DOUBLE)" "$d"
sed -e "s/@VER@/$ver/g" -e "s/@DISTRO@/$distro/g" -e "s/@KVER@/$kver/g" "$here/files/mlnxofedinstall" > "$b/mlnxofedinstall"
chmod 755 "$b/mlnxofedinstall"
cp "$here/files/ofed_uninstall.sh" "$b/uninstall.sh"
echo "$distro" > "$b/distro"; echo x86_64 > "$b/.arch"; echo "$ver" > "$b/.mlnx"
echo "$kver" > "$b/.kernel"
printf 'TEST DOUBLE of an MLNX_OFED bundle, built by rdma-deploy tests/bundle/double/make-bundle.sh.\nNot NVIDIA software; see docs/bundles.md.\n' > "$b/README.TEST-DOUBLE"
tar -C "$work" -czf "$out/$name.tgz" "$name"
(cd "$out" && sha256sum "$name.tgz" > "$name.tgz.sha256")
echo "make-bundle: $out/$name.tgz sha256:$(cut -d' ' -f1 "$out/$name.tgz.sha256") ($(find "$b/DEBS" -name "*.deb" | wc -l) packages)"
