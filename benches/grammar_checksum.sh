#!/usr/bin/env bash
# Field checksum of the shipped access-log decoders on the project's
# 1,000,000-line nginx workload: the LPeg grammar (`grammar = "lpeg"`)
# and the Lua-pattern matcher (`grammar = "pattern"`) must print the same
# messages (every header and field of every decoded line, and every
# failure), and optionally so must the decoders and modules of an earlier
# commit ("as before").
#
# Usage: benches/grammar_checksum.sh ACCESS_LOG [BASE_REF [SYSLOG_LOG]]
#   ACCESS_LOG  the workload (`python3 gen_access_log.py 1000000 > access.log`),
#               for nginx_access and apache_access
#   BASE_REF    a git ref whose sandboxes/decoders and lua_modules are run
#               the same way (with this build), e.g. `main`; "" for none
#   SYSLOG_LOG  rsyslog lines for the rsyslog decoder (default template),
#               e.g. from benches/gen_syslog_log.py
#
# Each run is `sandpiper test DECODER --input ACCESS_LOG --config X` with
# the output hashed (sha256) as it streams; the script prints one line per
# run and exits 1 when the hashes of a decoder differ.
set -euo pipefail

LOG=${1:?usage: benches/grammar_checksum.sh ACCESS_LOG [BASE_REF [SYSLOG_LOG]]}
BASE=${2:-}
SYSLOG=${3:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SANDPIPER_BIN:-$ROOT/target/release/sandpiper}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --quiet)

if [ -n "$BASE" ]; then
  mkdir -p "$WORK/base"
  (cd "$ROOT" && git archive "$BASE" sandboxes/decoders lua_modules) | tar -x -C "$WORK/base"
fi

# config NAME DECODER TYPE [GRAMMAR] [MODULE_DIR] -> path of a config file
config() {
  local path="$WORK/$1.toml"
  {
    echo "[$2]"
    echo 'type = "SandboxDecoder"'
    echo "filename = \"$2.lua\""
    [ -n "${5:-}" ] && echo "module_directory = \"$5\""
    echo "[$2.config]"
    echo "type = \"$3\""
    [ -n "${4:-}" ] && echo "grammar = \"$4\""
  } > "$path"
  echo "$path"
}

# run LABEL SCRIPT CONFIG SET [INPUT] -> prints "label sha256 summary seconds"
run() {
  local t0 t1 sum summary tail_pid
  rm -f "$WORK/fifo" && mkfifo "$WORK/fifo"
  tail -n 1 < "$WORK/fifo" > "$WORK/summary" &
  tail_pid=$!
  t0=$(date +%s.%N)
  "$BIN" test "$2" --input "${5:-$LOG}" --config "$3" 2>/dev/null | tee "$WORK/fifo" \
    | sha256sum > "$WORK/sum"
  t1=$(date +%s.%N)
  wait "$tail_pid"
  sum=$(cut -c1-16 "$WORK/sum")
  summary=$(cat "$WORK/summary")
  printf '%-24s %s  %s  (%.1f s)\n' "$1" "$sum" "$summary" "$(awk "BEGIN {print $t1 - $t0}")"
  echo "$sum" >> "$WORK/$4.sums"
}

echo "input: $LOG ($(wc -l < "$LOG") lines)${SYSLOG:+, $SYSLOG ($(wc -l < "$SYSLOG") lines)}"
status=0
decoders="nginx_access apache_access"
[ -n "$SYSLOG" ] && decoders="$decoders rsyslog"
for decoder in $decoders; do
  type=${decoder%_access}.access input=$LOG
  [ "$decoder" = rsyslog ] && type=syslog input=$SYSLOG
  script="$ROOT/sandboxes/decoders/$decoder.lua"
  run "$decoder lpeg" "$script" "$(config "$decoder-lpeg" "$decoder" "$type" lpeg)" \
    "$decoder" "$input"
  run "$decoder pattern" "$script" "$(config "$decoder-pattern" "$decoder" "$type" pattern)" \
    "$decoder" "$input"
  if [ -n "$BASE" ]; then
    run "$decoder $BASE" "$WORK/base/sandboxes/decoders/$decoder.lua" \
      "$(config "$decoder-base" "$decoder" "$type" "" "$WORK/base/lua_modules")" \
      "$decoder" "$input"
  fi
  if [ "$(sort -u "$WORK/$decoder.sums" | wc -l)" -ne 1 ]; then
    echo "$decoder: the outputs differ" >&2
    status=1
  else
    echo "$decoder: identical output"
  fi
done
exit $status
