#!/usr/bin/env bash
# Harness for contrib/nhc/rdma_agent.nhc without NHC (Debian has no nhc package): defines what the
# check uses from NHC's driver the way NHC defines it (https://github.com/mej/nhc, script `nhc`):
# die [RC] MSG... (here as in check-all mode `nhc -a`: record the failure and return 0, so the
# check itself must `return 1`), log, and the watchdog budget $TIMEOUT. Then sources the check
# and runs `check_rdma_agent "$@"`, printing what NHC would have seen:
#   DIE <rc> <message>    for each die call
#   LOG <message>         for each log call
#   RETURN <n>            the check's return code
set -u
TIMEOUT=${TIMEOUT:-10}
CHECK_DIED=0
FAIL_CNT=0
die() {
  local rc=1
  if [[ "${1:-}" =~ ^[0-9]+$ ]]; then rc=$1; shift; fi
  CHECK_DIED=1
  ((FAIL_CNT++))
  printf 'DIE %s %s\n' "$rc" "$*"
  return 0
}
log() { printf 'LOG %s\n' "$*"; }
# shellcheck source=contrib/nhc/rdma_agent.nhc
. "$(dirname "$0")/../../contrib/nhc/rdma_agent.nhc"
check_rdma_agent "$@"
rc=$?
printf 'RETURN %s\n' "$rc"
if (( rc != 0 && CHECK_DIED == 0 )); then echo "HARNESS: check failed without calling die" >&2; exit 1; fi
if (( rc == 0 && CHECK_DIED != 0 )); then echo "HARNESS: check called die but returned 0" >&2; exit 1; fi
exit 0
