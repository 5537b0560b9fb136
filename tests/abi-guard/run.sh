#!/usr/bin/env bash
# Fast ABI-guard tests (no VM): playbooks/abi-guard.yml against local-connection fake hosts
# (ansible_connection=local, OS facts overridden) with binaries built here from agent/tests/abi's
# sources, scanned by build/rdma-agent (or $RDMA_ABI_GUARD_AGENT). Exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 tests/abi-guard/run_tests.py "$@"
