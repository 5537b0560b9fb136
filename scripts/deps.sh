#!/usr/bin/env bash
# Bootstrap: install the Debian packages this project needs, and only those that are missing.
# Used by `make deps` (and so by `make demo`, `make test`, CI). Idempotent; root only.
set -euo pipefail

# Package groups: what each part of the project needs (all from Debian 12's archive).
BUILD_PKGS=(build-essential cmake pkg-config git
            libibverbs-dev librdmacm-dev libyaml-cpp-dev nlohmann-json3-dev catch2 libcli11-dev
            libelf-dev libdw-dev
            clang-14 libclang-rt-14-dev clang-tidy-14)
LAB_PKGS=(qemu-system-x86 qemu-utils debootstrap vde2 fdisk e2fsprogs openssh-client
          socat procps iproute2 ca-certificates)
# Kernel builds (kstack build, make e2e-kernel; not part of `all`: 140 MB of source nobody else needs).
KERNEL_PKGS=(linux-source-6.1 build-essential bc bison flex libssl-dev libelf-dev cpio kmod dpkg-dev rsync xz-utils linux-headers-6.1.0-50-amd64 dkms
             libnl-3-dev libnl-route-3-dev libudev-dev ninja-build)
DEPLOY_PKGS=(ansible ansible-core ansible-mitogen ansible-lint yamllint shellcheck python3 python3-yaml python3-jinja2 rsync chromium gnuplot-nox)

want=("${BUILD_PKGS[@]}" "${LAB_PKGS[@]}" "${DEPLOY_PKGS[@]}")
case "${1:-all}" in
  build) want=("${BUILD_PKGS[@]}") ;;
  lab)   want=("${LAB_PKGS[@]}") ;;
  kernel) want=("${KERNEL_PKGS[@]}") ;;
  all)   ;;
  *) echo "usage: $0 [all|build|lab|kernel]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#want[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages (${missing[*]}); run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${#missing[@]} missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/rdma-deploy-update-stamp
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +360 2>/dev/null)" ]; then
  echo "deps: apt-get update (package lists older than 6 h or never fetched)"
  apt-get update -q
  mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "deps: done"
