#!/bin/bash
# TEST DOUBLE of MLNX_OFED's /usr/sbin/ofed_uninstall.sh (manual: "Uninstalling MLNX_OFED": run
# /usr/sbin/ofed_uninstall.sh; --force does not ask). Removes every package the bundle installed
# (they carry the MLNX_OFED version tag) and leaves the node WITHOUT an RDMA stack, as the real one
# does: putting the distro's packages back is the caller's job (rdma-txn restore).
set -u
force=0
for a in "$@"; do case "$a" in --force) force=1 ;; -h|--help) echo "usage: ofed_uninstall.sh [--force]"; exit 0 ;; *) echo "Unsupported option: $a" >&2; exit 22 ;; esac; done
[ "$(id -u)" = 0 ] || { echo "Only root can run ofed_uninstall.sh" >&2; exit 1; }
if [ $force = 0 ]; then
  read -r -p "This will uninstall MLNX_OFED_LINUX (TEST DOUBLE). Continue? [y/N] " ans
  [ "$ans" = y ] || exit 1
fi
pkgs=$(dpkg-query -W -f='${Package} ${Version} ${db:Status-Status}\n' 2>/dev/null | awk '$2 ~ /mlnx/ && $3 != "not-installed" {print $1}')
/etc/init.d/openibd stop >/dev/null 2>&1 || true
# shellcheck disable=SC2086 # a list of package names
[ -n "$pkgs" ] && dpkg --purge --force-depends $pkgs
echo "Uninstall finished (TEST DOUBLE): $(echo "$pkgs" | tr "\n" " ")"
