#!/usr/bin/env bash
# Fleet health fast tests (no VM, ~1 min): tools/fleet-report on real agent outputs, its HTML in
# headless Chromium, playbooks/health.yml on local-connection fake hosts, the NHC check function,
# the Prometheus alert rules. Exit 0 pass, 1 fail, 77 skipped (chromium or promtool absent; the
# reason is printed), as CTest reads it.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 tests/fleet/test_fleet.py "$@"
