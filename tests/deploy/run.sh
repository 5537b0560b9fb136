#!/usr/bin/env bash
# Fast deploy tests (no VM): syntax, argument specs, preflight acceptances and refusals, per-distro
# variable resolution against expected values with sources, agent.yaml rendering vs the agent's
# schema. Called by the lead's Makefile (make unit). Exit 0 pass, 1 fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 tests/deploy/run_tests.py "$@"
