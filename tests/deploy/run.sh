#!/usr/bin/env bash
# Fast deploy tests (no VM): syntax, argument specs, preflight acceptances and refusals, per-distro
# variable resolution against expected values with sources, agent.yaml rendering vs the agent's
# schema, the rdma_files rendering vs ansible.builtin.template; then the unit tests of the deploy's
# own modules (library/). Called by the lead's Makefile (make unit). Exit 0 pass, 1 fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
rc=0
/usr/bin/python3 tests/deploy/run_tests.py "$@" || rc=1
/usr/bin/python3 tests/deploy/test_library.py || rc=1
exit $rc
