#!/usr/bin/env bash
# Fast tests of tools/kstack and the DKMS path (issue 6): Python unittest, no network, no VM
# (test_dkms also runs ansible-playbook on localhost for the role's refusals, ~20-50 s; skipped without it).
# The linux-source-6.1 case reads /usr/src/linux-source-6.1.tar.xz (~30 s to decompress) and skips
# with the reason when it is absent. Exit: unittest's (0 pass, 1 fail).
set -euo pipefail
cd "$(dirname "$0")"
for tool in patch tar; do
  command -v "$tool" >/dev/null || { echo "tests/kernel: '$tool' is not installed (apt-get install $tool)" >&2; exit 1; }
done
exec /usr/bin/python3 -m unittest -v test_kstack test_dkms test_rdmacore "$@"
