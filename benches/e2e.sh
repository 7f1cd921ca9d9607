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
calc() { awk "BEGIN {print $1}"; }

run_cat() {
  local t0 t1
  t0=$(now); cat "$LOG" > "$WORK/cat.out"; t1=$(now)
  rm -f "$WORK/cat.out"
  calc "$t1 - $t0"
}

# Starts sandpiper on $1 (config), waits until file $2 holds $BYTES bytes,
# prints "seconds peak_rss_kib", stops it. Polling is a cheap `stat` every
# 10 ms so the watcher takes little CPU from the 2 cores; VmHWM is the
# process's peak, read once at the end.
run_sandpiper() {
  local config=$1 watched=$2 t0 t1 pid hwm
  t0=$(now)
  "$BIN" -config="$config" > "$WORK/stdout" 2> "$WORK/stderr" &
  pid=$!
  while [ "$(stat -c %s "$watched" 2>/dev/null || echo 0)" -lt "$BYTES" ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/stderr" >&2; echo "sandpiper died" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(now)
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -INT "$pid"; wait "$pid" || true
  echo "$(calc "$t1 - $t0") $hwm"
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
  {
    cat <<TOML
[hekad]
base_dir = "$WORK/base"
poolsize = 1024
[LogstreamerInput]
log_directory = "$WORK/logs"
file_match = 'access\.log'
decoder = "tag"
[tag]
type = "ScribbleDecoder"
[tag.message_fields]
env = "prod"
dc = "eu1"
[PayloadEncoder]
append_newlines = false
TOML
    local m=(
      'Fields[env] == "prod" && Payload =~ /GET /'
      'Fields[env] == "prod" && Payload =~ /POST /'
      'Fields[dc] != "us1" && Payload =~ / 404 /'
      'Payload =~ /Firefox/'
      'Payload =~ /^10\./'
      'Logger == "LogstreamerInput" && Payload =~ /api/'
      'Type == "logfile" && Payload =~ /HTTP\/2.0/'
      'Payload =~ /static/ || Payload =~ /health/'
      'Fields[missing] == NIL && Payload =~ /curl/'
      'Fields[env] == "prod"'
    )
    for i in "${!m[@]}"; do
      cat <<TOML
[out$i]
type = "FileOutput"
message_matcher = '${m[$i]}'
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
echo "cat: $CAT s -> $(calc "int($LINES / $CAT)") lines/s"

passthrough_config
PASS=()
for _ in $(seq "$RUNS"); do
  prepare
  PASS+=("$(run_sandpiper "$WORK/pass.toml" "$WORK/out")")
  cmp -s "$LOG" "$WORK/out" || { echo "passthrough output differs from input" >&2; exit 1; }
done
PT=$(printf '%s\n' "${PASS[@]}" | awk '{print $1}' | median)
PR=$(printf '%s\n' "${PASS[@]}" | awk '{print $2}' | sort -n | tail -1)
echo "passthrough: $PT s -> $(calc "int($LINES / $PT)") lines/s, $(calc "int($BYTES / $PT / 1000000)") MB/s, $(calc "$PT / $CAT") x the time of cat, peak RSS $((PR / 1024)) MiB; output byte-identical"

matchers_config
M10=()
for _ in $(seq "$RUNS"); do
  prepare
  # out9 matches everything: done when it holds every byte.
  M10+=("$(run_sandpiper "$WORK/m10.toml" "$WORK/out9")")
done
MT=$(printf '%s\n' "${M10[@]}" | awk '{print $1}' | median)
MR=$(printf '%s\n' "${M10[@]}" | awk '{print $2}' | sort -n | tail -1)
echo "matchers10: $MT s -> $(calc "int($LINES / $MT)") lines/s, peak RSS $((MR / 1024)) MiB"
