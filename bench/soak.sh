#!/usr/bin/env bash
# Benchmark 8, soak: the agent's check run COUNT times on one lab node (env LAB, RDMA_LAB as
# lab/with-lab exports them; the agent installed, rxe0 up: a deployed node), one fresh process each,
# and after every run the verbs resources left on the node: `rdma resource show` counts of pd, cq,
# qp, mr (and cm_id, ctx) must be back where they were before the soak (zero for what a
# process allocates; the kernel's own GSI/MAD objects, if counted, are there before and after). Per run: exit code, wall time and peak RSS (GNU time)
# and open fds at exit are not observable for a short process, so the long-running parts are separate:
#
#   part 2: ONE `rdma-agent check --only ONLY --interval INTERVAL --count COUNT` process (the agent's
#   long-running mode): its VmRSS, VmHWM and open fds (/proc/PID) sampled every SAMPLE_SECONDS while
#   it runs the same checks COUNT times, and the resources counted when it has exited;
#   part 3: one `rdma-agent serve --connections N` answering PEER_COUNT `check --only peer --peer`
#   runs from the same node (RC traffic + ping-pongs to itself through rxe), sampled every
#   SAMPLE_EVERY checks.
#
# Under TCG one full check takes seconds; first one full check (with latency, 1000 iterations) is
# timed, then the loop runs ONLY (default verbs: RC traffic with byte verification, the fastest
# traffic-carrying check) until COUNT runs or BUDGET seconds, whichever comes first; the script says
# exactly what ran and how many. Never asserts a time; exit 1 if a resource count is non-zero after a
# run, the peak RSS of the last tenth exceeds the first tenth's by more than 10%, or the long-running
# processes' fds grow or their RSS grows by more than 10% between the first sample and the last.
# Env: NODE (node1), COUNT (1000), ONLY (verbs), BUDGET (900 s per loop), PEER_COUNT (COUNT),
# INTERVAL (0.05 s between the interval mode's cycles), SAMPLE_SECONDS (5),
# PEER_ITERS (50 ping-pongs per peer check), SAMPLE_EVERY (50), DEADLINE (optional, epoch seconds:
# each part's budget is cut so that all end 60 s before it).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
# shellcheck source=bench/lib.sh
. bench/lib.sh
NODE=${NODE:-node1}; COUNT=${COUNT:-1000}; ONLY=${ONLY:-verbs}; BUDGET=${BUDGET:-900}
PEER_COUNT=${PEER_COUNT:-$COUNT}; PEER_ITERS=${PEER_ITERS:-50}; SAMPLE_EVERY=${SAMPLE_EVERY:-50}
INTERVAL=${INTERVAL:-0.05}; SAMPLE_SECONDS=${SAMPLE_SECONDS:-5}
[[ "$INTERVAL" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "soak.sh: INTERVAL must be seconds, got '$INTERVAL'" >&2; exit 2; }
for v in COUNT BUDGET PEER_COUNT PEER_ITERS SAMPLE_EVERY SAMPLE_SECONDS; do
  case "${!v}" in ''|*[!0-9]*) echo "soak.sh: $v must be a non-negative integer, got '${!v}'" >&2; exit 2 ;; esac
done
case ",$ONLY," in *,latency,*|*,peer,*) echo "soak.sh: ONLY is the per-process loop's checks (not latency/peer: those have their own parts)" >&2; exit 2 ;; esac
if [ "$SAMPLE_EVERY" -lt 1 ] || [ "$PEER_ITERS" -lt 5 ]; then echo "soak.sh: SAMPLE_EVERY >= 1 and PEER_ITERS >= 5 required" >&2; exit 2; fi
if [ -n "${DEADLINE:-}" ]; then
  case "$DEADLINE" in *[!0-9]*) echo "soak.sh: DEADLINE must be epoch seconds, got '$DEADLINE'" >&2; exit 2 ;; esac
  left=$(( (DEADLINE - $(date +%s) - 120) / 3 ))
  [ "$left" -ge 30 ] || { echo "soak.sh: not run: less than 3 min left before DEADLINE"; exit 1; }
  [ "$left" -lt "$BUDGET" ] && { BUDGET=$left; echo "soak.sh: budget cut to $BUDGET s per part by DEADLINE"; }
fi
bench_need_lab soak.sh
ip=$(bench_data_ip "$NODE")
[ -n "$ip" ] || { echo "soak.sh: no lab_data_ip for $NODE" >&2; exit 2; }
"$LAB" ssh "$NODE" 'command -v rdma-agent && test -x /usr/bin/time && rdma resource show' >/dev/null 2>&1 \
  || { echo "soak.sh: $NODE lacks rdma-agent, GNU time or rdma (iproute2): deploy it first; apt-get install time" >&2; exit 1; }
# The deployed timer's own runs would overlap ours (resources counted mid-run): paused during the
# soak when active, started again at the end.
if "$LAB" ssh "$NODE" 'systemctl is-active --quiet rdma-agent.timer' 2>/dev/null; then
  "$LAB" ssh "$NODE" 'systemctl stop rdma-agent.timer' && echo "soak.sh: rdma-agent.timer paused for the soak"
  trap '"$LAB" ssh "$NODE" "systemctl start rdma-agent.timer" && echo "soak.sh: rdma-agent.timer started again"' EXIT
fi
echo "soak.sh: $NODE ($RDMA_LAB), $(date -u '+%F %H:%M') UTC, host load $(bench_load)"
echo "soak.sh: part 1 ($COUNT x check --only $ONLY, budget $BUDGET s), part 2 (one check --interval $INTERVAL process, $COUNT cycles, budget $BUDGET s) and part 3 (serve + $PEER_COUNT peer checks of $PEER_ITERS ping-pongs, budget $BUDGET s); progress every $SAMPLE_EVERY runs / $SAMPLE_SECONDS s"
timeout $((BUDGET * 3 + 900)) "$LAB" ssh "$NODE" /usr/bin/python3 - "$COUNT" "$ONLY" "$BUDGET" "$PEER_COUNT" "$PEER_ITERS" "$SAMPLE_EVERY" "$ip" "$INTERVAL" "$SAMPLE_SECONDS" <<'PY'
import json, os, re, statistics, subprocess, sys, time
count, only, budget, peer_count, peer_iters, every, ip, interval, sample_s = sys.argv[1:10]
count, budget, peer_count, peer_iters, every, sample_s = int(count), int(budget), int(peer_count), int(peer_iters), int(every), int(sample_s)
bad = 0
def resources():
    """Summed counts of `rdma resource show` (e.g. '0: rxe0: pd 0 cq 0 qp 0 cm_id 0 mr 0 ctx 0')."""
    out = subprocess.run(["rdma", "resource", "show"], capture_output=True, text=True).stdout
    tot = {}
    for k, v in re.findall(r"\b(pd|cq|qp|cm_id|mr|ctx|srq)\s+(\d+)", out):
        tot[k] = tot.get(k, 0) + int(v)
    return tot, out.strip()
def timed(cmd):
    t = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", "/tmp/soak-time"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.returncode, time.monotonic() - t, int(open("/tmp/soak-time").read().split()[-1]), r.stdout
base, text = resources()
print("resources before: %s" % text, flush=True)
if any(base.values()):
    print("NOTE: resources in use before the soak (another verbs user on the node?): %s" % base)
# One full check first (latency on, 1000 iterations): its time says what 1000 full checks would take.
os.makedirs("/tmp/soak", exist_ok=True)
open("/tmp/soak/agent.yaml", "w").write("schema_version: 1\nlatency:\n  enabled: true\n  iters: 1000\n  budget_us: {median: 2000, p99: 100000}\n")
rc, wall, rss, out = timed(["rdma-agent", "check", "--config", "/tmp/soak/agent.yaml", "--format", "json"])
print("one full check (stack, devices, verbs, multicast, flow_steering, mlx4_steering, latency 1000): exit %d, %.2f s, peak RSS %d KiB -> 1000 would take ~%.0f min" % (
    rc, wall, rss, wall * 1000 / 60), flush=True)
# Part 1: COUNT fresh processes of the fast subset.
walls, rsss, rcs, leaks = [], [], {}, []
t0 = time.monotonic()
for i in range(1, count + 1):
    rc, wall, rss, out = timed(["rdma-agent", "check", "--only", only, "--format", "json"])
    walls.append(wall); rsss.append(rss); rcs[rc] = rcs.get(rc, 0) + 1
    now, text = resources()
    if now != base:
        leaks.append((i, text))
    if i % every == 0 or i == count:
        print("part 1: %d/%d runs, last %.2f s, peak RSS %d KiB, exit codes %s, runs with resources left: %d, %.0f s elapsed" % (
            i, count, wall, rss, rcs, len(leaks), time.monotonic() - t0), flush=True)
    if time.monotonic() - t0 > budget:
        print("part 1: budget of %d s reached after %d of %d runs" % (budget, i, count), flush=True)
        break
n1 = len(walls)
tenth = max(1, n1 // 10)
first, last = statistics.median(rsss[:tenth]), statistics.median(rsss[-tenth:])
print("part 1 RAN: %d x `rdma-agent check --only %s --format json` (asked %d); wall median %.2f s (min %.2f, max %.2f); exit codes %s" % (
    n1, only, count, statistics.median(walls), min(walls), max(walls), rcs))
print("part 1 resources: %d of %d runs left a non-zero/changed `rdma resource show` count%s" % (
    len(leaks), n1, (": first at run %d: %s" % leaks[0]) if leaks else " (pd, cq, qp, mr, cm_id, ctx all back to %s)" % base))
print("part 1 peak RSS per process: first tenth median %d KiB, last tenth %d KiB (%+.1f%%), max %d KiB" % (
    first, last, 100.0 * (last - first) / first, max(rsss)))
if leaks or last > first * 1.10 or any(k > 1 for k in rcs):
    bad = 1
# Part 2: ONE long-running `check --interval` process running the same checks COUNT times.
def status_of(pid):
    st = open("/proc/%d/status" % pid).read()
    g = lambda k: int(re.search(r"^%s:\s+(\d+)" % k, st, re.M).group(1))
    return g("VmRSS"), g("VmHWM"), len(os.listdir("/proc/%d/fd" % pid))
lout = open("/tmp/soak/interval.out", "w")
loop = subprocess.Popen(["rdma-agent", "check", "--only", only, "--format", "json", "--interval", interval, "--count", str(count)],
                        stdout=lout, stderr=subprocess.DEVNULL)
def cycles():
    with open("/tmp/soak/interval.out") as f:
        return f.read().count('"schema_version"')
lsamples = []
t0 = time.monotonic()
while loop.poll() is None:
    time.sleep(sample_s)
    try:
        lsamples.append((cycles(),) + status_of(loop.pid))
    except (OSError, AttributeError):
        break  # exited between poll() and the read
    print("part 2: %d/%d cycles; VmRSS %d KiB, VmHWM %d KiB, %d fds; %.0f s elapsed" % ((lsamples[-1][0], count) + lsamples[-1][1:] + (time.monotonic() - t0,)), flush=True)
    if time.monotonic() - t0 > budget:
        print("part 2: budget of %d s reached: SIGTERM (the process ends after its running cycle)" % budget, flush=True)
        loop.terminate()
        break
lrc = loop.wait(timeout=120)
lout.close()
n_loop = cycles()
now, text = resources()
print("part 2 RAN: 1 `rdma-agent check --only %s --interval %s --count %d` process, %d cycles in %.0f s (asked %d), exit %d" % (
    only, interval, count, n_loop, time.monotonic() - t0, count, lrc))
print("part 2 resources after it exited: %s" % ("as before: %s" % base if now == base else "CHANGED: %s" % text))
if now != base:
    bad = 1
if len(lsamples) >= 3:
    s1, sN = lsamples[1], lsamples[-1]  # after the first samples (libraries, first device open) vs the end
    print("part 2 process: VmRSS %d -> %d KiB (%+d), VmHWM %d -> %d KiB, fds %d -> %d (samples at cycles %s)" % (
        s1[1], sN[1], sN[1] - s1[1], s1[2], sN[2], s1[3], sN[3], ",".join(str(s[0]) for s in lsamples)))
    if sN[3] > s1[3] or sN[1] > s1[1] * 1.10:
        bad = 1
else:
    print("part 2 process: fewer than 3 samples (%d): RSS/fd trend not judged; raise COUNT or lower SAMPLE_SECONDS" % len(lsamples))
# Part 3: one long-running serve, peer checks against it from the same node.
srv = subprocess.Popen(["rdma-agent", "serve", "--listen", ip, "--connections", str(peer_count), "--idle-timeout", "120"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
def proc_sample():
    st = open("/proc/%d/status" % srv.pid).read()
    g = lambda k: int(re.search(r"^%s:\s+(\d+)" % k, st, re.M).group(1))
    return g("VmRSS"), g("VmHWM"), len(os.listdir("/proc/%d/fd" % srv.pid))
for _ in range(100):
    if subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout.find(":18515 ") >= 0:
        break
    time.sleep(0.1)
samples = [(0,) + proc_sample()]
print("part 3: serve pid %d listening on %s: VmRSS %d KiB, VmHWM %d KiB, %d fds" % ((srv.pid, ip) + samples[0][1:]), flush=True)
prcs = {}
t0 = time.monotonic(); n2 = 0
for i in range(1, peer_count + 1):
    r = subprocess.run(["rdma-agent", "check", "--only", "peer", "--peer", ip, "--peer-iters", str(peer_iters), "--format", "json"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    prcs[r.returncode] = prcs.get(r.returncode, 0) + 1
    n2 = i
    if i % every == 0 or i == peer_count:
        if srv.poll() is not None:
            print("part 3: serve exited (%s) after %d checks" % (srv.returncode, i)); break
        samples.append((i,) + proc_sample())
        print("part 3: %d/%d peer checks, exit codes %s; serve VmRSS %d KiB, VmHWM %d KiB, %d fds; %.0f s elapsed" % (
            (i, peer_count, prcs) + samples[-1][1:] + (time.monotonic() - t0,)), flush=True)
    if time.monotonic() - t0 > budget:
        print("part 3: budget of %d s reached after %d of %d checks" % (budget, i, peer_count), flush=True)
        break
if srv.poll() is None:
    srv.terminate(); srv.wait(timeout=30)
now, text = resources()
print("part 3 RAN: 1 `rdma-agent serve` process answering %d `check --only peer --peer %s --peer-iters %d` (asked %d); exit codes %s" % (
    n2, ip, peer_iters, peer_count, prcs))
if len(samples) >= 3:
    s1, sN = samples[1], samples[-1]   # after the first batch (libraries, first QP set up) vs the end
    print("part 3 serve: VmRSS %d -> %d KiB (%+d), VmHWM %d -> %d KiB, fds %d -> %d (samples at checks %s)" % (
        s1[1], sN[1], sN[1] - s1[1], s1[2], sN[2], s1[3], sN[3], ",".join(str(s[0]) for s in samples)))
    if sN[3] > s1[3] or sN[1] > s1[1] * 1.10:
        bad = 1
print("resources after: %s" % text)
if now != base:
    bad = 1
print("soak: %s" % ("PASS" if not bad else "FAIL (see above)"))
sys.exit(bad)
PY
