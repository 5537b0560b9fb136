#!/usr/bin/env bash
# make demo: boot one Soft-RoCE lab node (Debian 12 under QEMU), deploy the inbox RDMA stack on it
# with deploy-rdma.yml, and print the agent's verdict. The node keeps running afterwards so you can
# look around: lab/lab ssh node1, lab/lab status, and lab/lab down when done.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 3
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "1/3 booting a lab node (Debian 12, Soft-RoCE capable kernel; first run builds the image, ~10 min)"
lab/lab up --nodes "${DEMO_NODES:-1}" --distro "${DEMO_DISTRO:-bookworm}"

say "2/3 ansible-playbook deploy-rdma.yml (inbox stack, module parameters, agent, health gate)"
start=$(date +%s)
ansible-playbook deploy-rdma.yml
echo "deploy took $(( $(date +%s) - start )) s"

say "3/3 the agent's verdict on node1 (rdma-agent check)"
lab/lab ssh node1 rdma-agent check --format text || true

cat <<'MSG'

The lab node is still running:  lab/lab ssh node1   |   lab/lab status   |   lab/lab down
Run the deploy again (it changes nothing the second time):  ansible-playbook deploy-rdma.yml
MSG
