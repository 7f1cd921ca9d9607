#!/usr/bin/env bash
# End-to-end benchmark of the real `sandpiper` binary on the project's
# 1,000,000-line nginx workload.
#
# Usage: benches/e2e.sh ACCESS_LOG [RUNS]
#   ACCESS_LOG  the workload file (generate it with the project's workload
#               generator: `python3 gen_access_log.py 1000000 > access.log`)
#   RUNS        repetitions per scenario (default 3); the median is reported
#
# Scenarios:
#   cat          `cat access.log > out` (the I/O floor, same run)
#   passthrough  LogstreamerInput -> TokenSplitter -> PayloadEncoder -> FileOutput;
#                the output must be byte-identical to the input
#   matchers10   the same with 10 FileOutputs, each with its own matcher
#                (Fields/regex mix); reports lines/s of the whole run
#
# Wall time runs from process start until the output holds every byte (or,
# for matchers10, until every output has stopped growing and the input is
# fully read); peak RSS comes from /proc/<pid>/status (VmHWM).
set -euo pipefail

LOG=${1:?usage: benches/e2e.sh ACCESS_LOG [RUNS]}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SANDPIPER_BIN:-$ROOT/target/release/sandpiper}
LINES=$(wc -l < "$LOG")
BYTES=$(stat -c %s "$LOG")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --quiet)

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_cat() {
  local t0 t1
  t0=$(now); cat "$LOG" > "$WORK/cat.out"; t1=$(now)
  rm -f "$WORK/cat.out"
  echo "$t1 - $t0" | bc -l
}

# Starts sandpiper on $1 (config), waits until $2 (a shell test) is true,
# prints "seconds peak_rss_kib", stops it.
run_sandpiper() {
  local config=$1 done_test=$2 t0 t1 pid hwm=0 h
  t0=$(now)
  "$BIN" -config="$config" > "$WORK/stdout" 2> "$WORK/stderr" &
  pid=$!
  while ! eval "$done_test"; do
    h=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${h:-0}" -gt "$hwm" ] && hwm=$h
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/stderr" >&2; echo "sandpiper died" >&2; exit 1; }
    sleep 0.005
  done
  t1=$(now)
  h=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ "${h:-0}" -gt "$hwm" ] && hwm=$h
  kill -INT "$pid"; wait "$pid" || true
  echo "$(echo "$t1 - $t0" | bc -l) $hwm"
}

prepare() {
  rm -rf "$WORK/logs" "$WORK/base" "$WORK"/out*
  mkdir -p "$WORK/logs"
  ln -s "$(realpath "$LOG")" "$WORK/logs/access.log"
}

passthrough_config() {
  cat > "$WORK/pass.toml" <<TOML
[hekad]
base_dir = "$WORK/base"
poolsize = 1024
[LogstreamerInput]
log_directory = "$WORK/logs"
file_match = 'access\.log'
[PayloadEncoder]
append_newlines = false
[FileOutput]
message_matcher = "TRUE"
path = "$WORK/out"
encoder = "PayloadEncoder"
flush_count = 100000
flush_interval = 100
flush_operator = "OR"
TOML
}

matchers_config() {
  passthrough_config
  {
    head -n 12 "$WORK/pass.toml" | sed '/^\[FileOutput\]/,$d'
    local m=(
      "Payload =~ /GET /"
      "Payload =~ /POST /"
      "Payload =~ / 404 /"
      "Payload =~ /Firefox/"
      "Payload =~ /^10\\./"
      "Logger == 'LogstreamerInput' && Payload =~ /api/"
      "Type == 'logfile' && Payload =~ /HTTP\\/2.0/"
      "Payload =~ /static/ || Payload =~ /health/"
      "Fields[missing] == NIL && Payload =~ /curl/"
      "TRUE"
    )
    for i in "${!m[@]}"; do
      cat <<TOML
[out$i]
type = "FileOutput"
message_matcher = "${m[$i]}"
path = "$WORK/out$i"
encoder = "PayloadEncoder"
flush_count = 100000
flush_interval = 100
flush_operator = "OR"
TOML
    done
  } > "$WORK/m10.toml"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "input: $LOG ($LINES lines, $BYTES bytes), runs: $RUNS"

CAT=$(for _ in $(seq "$RUNS"); do run_cat; done | median)
echo "cat: $CAT s -> $(echo "$LINES / $CAT" | bc) lines/s"

passthrough_config
PASS=()
for _ in $(seq "$RUNS"); do
  prepare
  PASS+=("$(run_sandpiper "$WORK/pass.toml" '[ "$(stat -c %s "$WORK/out" 2>/dev/null || echo 0)" -ge "$BYTES" ]')")
  cmp -s "$LOG" "$WORK/out" || { echo "passthrough output differs from input" >&2; exit 1; }
done
PT=$(printf '%s\n' "${PASS[@]}" | awk '{print $1}' | median)
PR=$(printf '%s\n' "${PASS[@]}" | awk '{print $2}' | sort -n | tail -1)
echo "passthrough: $PT s -> $(echo "$LINES / $PT" | bc) lines/s, $(echo "$BYTES / $PT / 1000000" | bc) MB/s, ratio to cat $(echo "scale=2; $PT / $CAT" | bc), peak RSS $((PR / 1024)) MiB; output byte-identical"

matchers_config
M10=()
for _ in $(seq "$RUNS"); do
  prepare
  # out9 matches everything: done when it holds every byte.
  M10+=("$(run_sandpiper "$WORK/m10.toml" '[ "$(stat -c %s "$WORK/out9" 2>/dev/null || echo 0)" -ge "$BYTES" ]')")
done
MT=$(printf '%s\n' "${M10[@]}" | awk '{print $1}' | median)
MR=$(printf '%s\n' "${M10[@]}" | awk '{print $2}' | sort -n | tail -1)
echo "matchers10: $MT s -> $(echo "$LINES / $MT" | bc) lines/s, peak RSS $((MR / 1024)) MiB"
