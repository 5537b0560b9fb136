#!/usr/bin/env bash
# Regenerates agent/tests/e2e/expected/<fixture>.json from the current binary, ON PURPOSE ONLY
# (make test never does). Review the diff before committing: it is the agent's behaviour.
# Usage: agent/tests/e2e/regenerate.sh [build/rdma-agent] [fixture-name...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
agent=${1:-$here/../../../build/rdma-agent}
shift || true
[ -x "$agent" ] || { echo "regenerate: $agent is not an executable (build first: make build)" >&2; exit 2; }
agent=$(realpath "$agent")
cd "$here/../fixtures"
names=("$@")
shopt -s nullglob
[ ${#names[@]} -gt 0 ] || names=(hand-* lab-*)
for fx in "${names[@]}"; do
  [ -d "$fx" ] || { echo "regenerate: no fixture $fx" >&2; exit 2; }
  /usr/bin/python3 - "$agent" "$PWD/$fx" "$here/expected/$fx.json" <<'PY'
import json, sys
sys.path.insert(0, __import__("os").path.dirname(sys.argv[3]) + "/..")
import compare
doc = compare.run(sys.argv[1], sys.argv[2])
with open(sys.argv[3], "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
print("regenerate: wrote", sys.argv[3], "status", doc["status"])
PY
done
