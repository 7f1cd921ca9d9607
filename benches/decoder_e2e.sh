#!/usr/bin/env bash
# End to end in the daemon: LogstreamerInput -> SandboxDecoder
# (sandboxes/decoders/nginx_access.lua) -> NullOutput, for both grammar
# implementations and decoder_threads = 1 and 2, on the project's
# 1,000,000-line nginx workload.
#
# Usage: benches/decoder_e2e.sh ACCESS_LOG [RUNS]
#   ACCESS_LOG  the workload (`python3 gen_access_log.py 1000000 > access.log`)
#   RUNS        runs per scenario (default 3); medians are reported
#
# Wall time runs from process start until the NullOutput has processed
# every line: the script sends SIGUSR1 every 50 ms and reads
# `ProcessMessageCount` from the NullOutput section of the printed report.
# CPU time is the process's user + system time (/proc/PID/stat, all
# threads) at that moment, so neither includes shutdown. Peak RSS is
# VmHWM from /proc/PID/status.
set -euo pipefail

LOG=${1:?usage: benches/decoder_e2e.sh ACCESS_LOG [RUNS]}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SANDPIPER_BIN:-$ROOT/target/release/sandpiper}
LINES=$(wc -l < "$LOG")
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --quiet)

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

config() { # GRAMMAR THREADS
  cat > "$WORK/e2e.toml" <<TOML
[hekad]
base_dir = "$WORK/base"
share_dir = "$ROOT"

[LogstreamerInput]
log_directory = "$WORK/logs"
file_match = 'access\.log'
decoder = "nginx_access"
decoder_threads = $2

[nginx_access]
type = "SandboxDecoder"
filename = "sandboxes/decoders/nginx_access.lua"

[nginx_access.config]
type = "nginx.access"
grammar = "$1"

[NullOutput]
message_matcher = "Type == 'nginx.access'"
TOML
}

# The NullOutput's ProcessMessageCount in the last report printed.
processed() {
  awk '/^  NullOutput:/ {in_null = 1; next}
       /^  [A-Za-z]/ {in_null = 0}
       in_null && /ProcessMessageCount:/ {n = $2}
       END {print n + 0}' "$WORK/stdout"
}

# One run: prints "wall_s cpu_s peak_rss_kib".
run_once() {
  rm -rf "$WORK/base" "$WORK/logs"
  mkdir -p "$WORK/logs"
  ln -s "$(realpath "$LOG")" "$WORK/logs/access.log"
  local t0 t1 pid cpu hwm
  t0=$(now)
  "$BIN" -config="$WORK/e2e.toml" > "$WORK/stdout" 2> "$WORK/stderr" &
  pid=$!
  while :; do
    sleep 0.05
    kill -0 "$pid" 2> /dev/null || { cat "$WORK/stderr" >&2; echo "sandpiper died" >&2; exit 1; }
    kill -USR1 "$pid"
    sleep 0.005
    [ "$(processed)" -ge "$LINES" ] && break
  done
  t1=$(now)
  cpu=$(awk -v tick="$TICK" '{print ($14 + $15) / tick}' "/proc/$pid/stat")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -INT "$pid"
  wait "$pid" || true
  echo "$(awk "BEGIN {print $t1 - $t0}") $cpu $hwm"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "input: $LOG ($LINES lines), runs: $RUNS, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for grammar in pattern lpeg; do
  for threads in 1 2; do
    config "$grammar" "$threads"
    : > "$WORK/runs"
    for _ in $(seq "$RUNS"); do run_once >> "$WORK/runs"; done
    wall=$(awk '{print $1}' "$WORK/runs" | median)
    cpu=$(awk '{print $2}' "$WORK/runs" | median)
    rss=$(awk '{print $3}' "$WORK/runs" | sort -n | tail -1)
    awk -v g="$grammar" -v t="$threads" -v w="$wall" -v c="$cpu" -v n="$LINES" -v r="$rss" \
      'BEGIN {printf "grammar=%-7s decoder_threads=%d  wall %5.2f s  %7.0f lines/s  CPU %5.2f s  %7.0f lines/CPU-s  peak RSS %d MiB\n", g, t, w, n / w, c, n / c, r / 1024}'
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
