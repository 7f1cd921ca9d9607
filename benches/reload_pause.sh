#!/usr/bin/env bash
# Reload benchmark of the real `sandpiper` binary: how long does an in-place
# reload stop a sandbox filter, and does anything else notice?
#
# Usage: [STATE_ENTRIES=N] benches/reload_pause.sh [RELOADS] [RATE]
#   RELOADS  in-place reloads of the managed filter (default 100, 10 per second)
#   RATE     messages per second sent to the daemon (default 100000)
#   STATE_ENTRIES  size of a global table the reloaded filter keeps (default
#            0: only its count), to see what carrying a larger state costs
#
# Set-up: one daemon with a TcpInput (signer table), a SandboxManagerFilter,
# a static counting SandboxFilter "other" and a FileOutput for the counters'
# once-a-second reports. `sandpiper sbmgr` loads a counting filter "counter"
# (managed: mgr-counter); `sandpiper flood` sends Type 'bench' messages at
# RATE over one connection for the whole run; both counters match them.
# After 8 quiet seconds the script reloads mgr-counter RELOADS times through
# `sandpiper sbmgr -action reload` (new source each time, state carried over).
#
# Reported:
#   pause  per reload, from the Replace item reaching the filter's thread to
#          the first message it handles after the swap (logged by the runner
#          at debug level): p50, p99, max
#   loss   both counters' final counts against the messages sent
#   other  the static filter's messages/s per one-second report, during the
#          quiet phase vs during the reload phase (mean and min)
set -euo pipefail

RELOADS=${1:-100}
RATE=${2:-100000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SANDPIPER_BIN:-$ROOT/target/release/sandpiper}
WORK=$(mktemp -d)
PID=
cleanup() {
  [ -n "$PID" ] && kill -INT "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --quiet)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
QUIET=8
RELOAD_SECS=$(awk "BEGIN {print $RELOADS / 10}")
DURATION=$(awk "BEGIN {print $QUIET + $RELOAD_SECS + 4}")

STATE_ENTRIES=${STATE_ENTRIES:-0}
cat > "$WORK/count.lua" <<LUA
count = count or 0
if not state then
  state = {}
  for i = 1, $STATE_ENTRIES do state[i] = "entry " .. i end
end
function process_message() count = count + 1 return 0 end
function timer_event(ns) inject_payload("txt", "count", "count=" .. count) end
LUA
cat > "$WORK/counter.toml" <<'TOML'
[counter]
type = "SandboxFilter"
message_matcher = "Type == 'bench'"
ticker_interval = 1
timer_event_on_shutdown = true
TOML
cat > "$WORK/sbmgr.toml" <<TOML
ip_address = "127.0.0.1:$PORT"
[signer]
name = "bench"
hmac_key = "bench-key"
TOML
cat > "$WORK/d.toml" <<TOML
[hekad]
base_dir = "$WORK/base"
report_interval = 0
poolsize = 1024
[TcpInput]
address = "127.0.0.1:$PORT"
[TcpInput.signer.bench_0]
hmac_key = "bench-key"
[mgr]
type = "SandboxManagerFilter"
message_signer = "bench"
max_filters = 1
[other]
type = "SandboxFilter"
filename = "$WORK/count.lua"
message_matcher = "Type == 'bench'"
ticker_interval = 1
timer_event_on_shutdown = true
[out]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output'"
path = "$WORK/out.dat"
encoder = "ProtobufEncoder"
flush_interval = 0
TOML

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rate: $RATE msg/s for ${DURATION}s, reloads: $RELOADS (10/s after ${QUIET}s), state: $STATE_ENTRIES table entries"

SANDPIPER_LOG="info,sandpiper::pipeline::filter_runner=debug" \
  "$BIN" -config="$WORK/d.toml" > "$WORK/stdout" 2> "$WORK/stderr" &
PID=$!
for _ in $(seq 100); do
  grep -qs "Listening on" "$WORK/stderr" && break
  sleep 0.05
done
"$BIN" sbmgr -config "$WORK/sbmgr.toml" -action load -script "$WORK/count.lua" \
  -scriptconfig "$WORK/counter.toml" > /dev/null
for _ in $(seq 100); do
  grep -qs "Loaded mgr-counter" "$WORK/stderr" && break
  sleep 0.05
done

"$BIN" flood -heka "127.0.0.1:$PORT" -rate "$RATE" -duration "$DURATION" -type bench \
  > "$WORK/flood.out" &
FLOOD=$!
sleep "$QUIET"
RELOAD_START=$(date +%s%N)
for i in $(seq "$RELOADS"); do
  # A new source each time: a different comment line.
  { echo "-- version $i"; cat "$WORK/count.lua"; } > "$WORK/count_v.lua"
  "$BIN" sbmgr -config "$WORK/sbmgr.toml" -action reload -script "$WORK/count_v.lua" \
    -filtername counter > /dev/null
  sleep 0.1
done
RELOAD_END=$(date +%s%N)
wait "$FLOOD"
sleep 2
kill -INT "$PID"
wait "$PID" || true
PID=

SENT=$(awk '{print $2}' "$WORK/flood.out")
echo "flood: $(cat "$WORK/flood.out")"
"$BIN" cat -format json "$WORK/out.dat" > "$WORK/out.json"
python3 - "$WORK/stderr" "$WORK/out.json" "$SENT" "$RELOAD_START" "$RELOAD_END" "$RELOADS" <<'PY'
import json, re, sys

stderr, out, sent, r0, r1, reloads = sys.argv[1:7]
sent, r0, r1, reloads = int(sent), int(r0), int(r1), int(reloads)
log = open(stderr).read()
pauses = sorted(int(m) for m in re.findall(r"pause_us=(\d+)", log))
swaps = [float(m) for m in re.findall(r"reloaded in place \(state carried over\) in ([0-9.]+) ms", log)]
refused = log.count("refused")

def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")

print(f"reloads: {len(swaps)} done of {reloads}, {refused} refused")
print(f"pause (Replace received -> first message after it), ms: "
      f"p50 {pct(pauses, 50) / 1000:.2f}  p99 {pct(pauses, 99) / 1000:.2f}  "
      f"max {pauses[-1] / 1000 if pauses else float('nan'):.2f}  (n={len(pauses)})")
if swaps:
    swaps.sort()
    print(f"swap itself (build + state transfer), ms: p50 {pct(swaps, 50):.2f}  "
          f"p99 {pct(swaps, 99):.2f}  max {swaps[-1]:.2f}")

series = {}
for line in open(out):
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    c = re.match(r"count=(\d+)", m.get("payload", ""))
    if c:
        series.setdefault(m["logger"], []).append((m["timestamp"], int(c.group(1))))
for name in ("mgr-counter", "other"):
    final = series.get(name, [(0, 0)])[-1][1]
    print(f"{name}: final count {final} of {sent} sent ({'no loss' if final == sent else 'MISMATCH'})")

other = series.get("other", [])
quiet, during = [], []
for (t0, c0), (t1, c1) in zip(other, other[1:]):
    if c1 <= c0 or t1 <= t0:
        continue
    rate = (c1 - c0) / ((t1 - t0) / 1e9)
    if t1 <= r0 and c0 > 0:
        quiet.append(rate)
    elif t0 >= r0 and t1 <= r1:
        during.append(rate)
quiet = quiet[1:]  # the first full second is warm-up
def summary(xs):
    if not xs:
        return "n/a"
    return f"mean {sum(xs) / len(xs):,.0f} msg/s, min {min(xs):,.0f} (n={len(xs)} s)"
print(f"other, quiet phase:  {summary(quiet)}")
print(f"other, reload phase: {summary(during)}")
PY
