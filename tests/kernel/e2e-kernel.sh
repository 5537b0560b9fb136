#!/usr/bin/env bash
# make e2e-kernel: the slow proof of issue 6's kernel-from-source stack.
#   1. tools/kstack build: Debian's linux-source-6.1 + patches/<series> (default rxe-lab) + the RDMA
#      and lab Kconfig fragments on the kvm base -> linux-image .deb (make bindeb-pkg), cached by
#      key in ~/.cache/rdma-deploy/kernels (a cache hit takes seconds; a build 30-90 min on 2 cores)
#   2. a 1-node lab (lab/with-lab), and tests/e2e/kernel-trial.sh's good case with that .deb:
#      deploy-rdma.yml with rdma_stack=kernel, rdma_kernel_debs -> installed beside the running
#      kernel, one-shot boot trial, the agent's gate on the new kernel (verbs, multicast pass), the
#      series' patched rdma_rxe proven running, committed; then rolled back by hand to the old kernel
#      with the node's state as before.
#      With it, the userspace to match (rdma_kernel_userspace=source): rdma-core 56.1 from Debian's
#      archive (URL + pinned sha256, the operator's input form) with patches/rdma-core-lab, built by
#      the role on this control node (tools/kstack rdma-core build, ~1.5 min, cached), installed
#      under /opt beside the distro's; its tools must run verbs on the trial kernel.
# Env: KERNEL_SERIES (rxe-lab), KSTACK_LINUX_SOURCE (/usr/src/linux-source-6.1.tar.xz),
#      KTRIAL_FAULTS (good; "good panic" also trials a panicking boot of the built kernel),
#      RDMA_LAB (ekernel), JOBS (nproc), RDMA_CORE_SOURCE / RDMA_CORE_SHA256 / RDMA_CORE_SERIES
#      (default: Debian's rdma-core_56.1.orig.tar.gz + rdma-core-lab; RDMA_CORE_SOURCE=none: distro
#      userspace only).
# Exit 0 passed, 1 failed, 2 bad input, 77 skipped (no source tarball / not root).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
src=${KSTACK_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
series=${KERNEL_SERIES:-rxe-lab}
if [ "$(id -u)" -ne 0 ]; then echo "SKIP  e2e-kernel: the lab needs root"; exit 77; fi
if [ ! -f "$src" ]; then echo "SKIP  e2e-kernel: no kernel source $src (apt-get install linux-source-6.1)"; exit 77; fi
if [ ! -f "patches/$series/series" ]; then echo "e2e-kernel: no series patches/$series/series" >&2; exit 2; fi

echo "e2e-kernel: step 1/2: kernel from $src + series $series (kstack build; cached by key)"
json=$(/usr/bin/python3 tools/kstack/kstack build --source "$src" --series "patches/$series" \
         --config patches/config/rdma.fragment patches/config/qemu-lab.fragment --base kvm \
         -j "${JOBS:-$(nproc)}" --json) || { echo "e2e-kernel: FAIL: the kernel build failed (see above)"; exit 1; }
read -r key release image < <(/usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[1])
img = [x for x in d["debs"] if x.startswith("linux-image-") and "-dbg_" not in x]
print(d["key"], d["kernel_release"], img[0] if img else "")' "$json")
cache=${KSTACK_CACHE:-$HOME/.cache/rdma-deploy/kernels}
deb=$cache/$key/$image
if [ -z "$image" ] || [ ! -f "$deb" ]; then echo "e2e-kernel: FAIL: no linux-image .deb in $cache/$key"; exit 1; fi
echo "e2e-kernel: kernel $release: $deb ($(du -h "$deb" | cut -f1))"

echo "e2e-kernel: step 2/2: 1-node lab, deploy rdma_stack=kernel with that package and trial it"
export KTRIAL_DEBS=$deb KTRIAL_RELEASE=$release KTRIAL_SERIES=$series KTRIAL_FAULTS=${KTRIAL_FAULTS:-good}
rc_src=${RDMA_CORE_SOURCE:-http://deb.debian.org/debian/pool/main/r/rdma-core/rdma-core_56.1.orig.tar.gz}
if [ "$rc_src" != none ]; then
  export KTRIAL_RDMA_CORE_SOURCE=$rc_src
  export KTRIAL_RDMA_CORE_SHA256=${RDMA_CORE_SHA256:-63ce7f2baa7242c2dbc76375dac957c420187dd27f8c5e148efc07971ee522a8}
  export KTRIAL_RDMA_CORE_SERIES=${RDMA_CORE_SERIES:-rdma-core-lab}
  echo "e2e-kernel: userspace from source too: $rc_src (sha256 ${KTRIAL_RDMA_CORE_SHA256:0:16}..., series $KTRIAL_RDMA_CORE_SERIES)"
fi
export RDMA_LAB=${RDMA_LAB:-ekernel}
lab/with-lab --nodes 1 -- scripts/timed "suite kernel-trial (built kernel $release)" tests/e2e/kernel-trial.sh
