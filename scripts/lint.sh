#!/usr/bin/env bash
# Lint everything that has a linter in Debian: YAML (yamllint), Ansible (ansible-lint, production
# profile, configured in .ansible-lint without a global skip list), shell (shellcheck), Python
# (byte-compile). C++ is held to -Wall -Wextra ... -Werror by the build itself.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 3
fail=0
step() { printf -- '--> lint: %s\n' "$1"; }
run() { local what=$1; shift; if "$@"; then echo "    ok: $what"; else echo "    FAILED: $what"; fail=1; fi; }

step "yamllint"
run yamllint yamllint -s .

if [ -f deploy-rdma.yml ]; then
  step "ansible-lint (production profile)"
  # Offline: Debian's collections only; never ask Galaxy.
  run ansible-lint env ANSIBLE_COLLECTIONS_PATH=/usr/lib/python3/dist-packages \
      ansible-lint --offline -q deploy-rdma.yml playbooks roles
fi

step "shellcheck"
mapfile -t shells < <(git ls-files | while read -r f; do
  [ -f "$f" ] || continue
  case "$f" in *.sh) echo "$f"; continue ;; esac
  head -c 64 "$f" 2>/dev/null | grep -qE '^#!.*\b(bash|sh)\b' && echo "$f"
done)
if [ ${#shells[@]} -gt 0 ]; then run "shellcheck (${#shells[@]} scripts)" shellcheck -x "${shells[@]}"; fi

step "python byte-compile"
mapfile -t pys < <(git ls-files | while read -r f; do
  [ -f "$f" ] || continue
  case "$f" in *.py) echo "$f"; continue ;; esac
  head -c 64 "$f" 2>/dev/null | grep -qE '^#!.*python' && echo "$f"
done)
if [ ${#pys[@]} -gt 0 ]; then
  run "python (${#pys[@]} files)" /usr/bin/python3 -c 'import sys
for f in sys.argv[1:]: compile(open(f, encoding="utf-8").read(), f, "exec")' "${pys[@]}"
fi

[ $fail -eq 0 ] && echo "lint: all clean" || echo "lint: FAILED"
exit $fail
