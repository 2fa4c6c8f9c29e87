#!/bin/bash
# Syscall check: Tailor's request path must make no syscall of its own. Runs each configuration
# (master + one worker, as in production), warms it up, then counts the worker's syscalls with
# `strace -c -f` over exactly N corpus requests (one keep-alive connection, replay.pl), and
# compares calls per request against plain nginx.
#
# Usage: bench/syscalls.sh [--requests N] [--module PATH] [--out DIR] [--configs LIST]
#   --requests N  default 10000
#   --configs     default "baseline tailor" (the first one is the reference)
# Exit status: 0 when every configuration makes the same syscalls per request as the
# reference (no new syscall, each count within 1 % + 5 calls of the reference's, epoll_wait
# 5 %; extra calls fewer than 1 per 100 requests are timers, listed as occasional), 1
# otherwise, 2 when one could not be measured.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=10000
OUT=""
CONFIGS="baseline tailor"
MODULE_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) N=$2; shift 2 ;;
    --module) MODULE_ARGS=(--module "$2"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v strace >/dev/null || { echo "strace not found (scripts/setup.sh)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/tailor-syscalls-XXXXXX)
chmod 755 "$WORK"
OUT=${OUT:-$WORK/out}
mkdir -p "$OUT"
MASTER="" STRACE_PID=""
stop_all() {
  if [ -n "$STRACE_PID" ] && kill -0 "$STRACE_PID" 2>/dev/null; then kill -INT "$STRACE_PID" || true; fi
  STRACE_PID=""
  if [ -n "$MASTER" ] && kill -0 "$MASTER" 2>/dev/null; then
    kill -TERM "$MASTER" || true
    for _ in $(seq 50); do kill -0 "$MASTER" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MASTER" 2>/dev/null || true
  fi
  MASTER=""
}
trap 'stop_all; rm -rf "$WORK/prefixes"' EXIT
trap 'echo interrupted >&2; exit 130' INT TERM

"$ROOT/bench/run" --prepare-only "$WORK/prefixes" "${MODULE_ARGS[@]}" >"$WORK/prefixes.tsv" 2>"$WORK/prepare.log"
CORPUS="$WORK/prefixes/data/corpus.tsv"
status=0
reference=""
for name in $CONFIGS; do
  line=$(awk -F'\t' -v n="$name" '$1 == n' "$WORK/prefixes.tsv")
  [ -n "$line" ] || { echo "unknown configuration $name" >&2; status=2; continue; }
  IFS=$'\t' read -r _ prefix conf port <<<"$line"
  if ! /usr/sbin/nginx -p "$prefix/" -c "conf/$conf" -t >"$OUT/$name.nginx-t.log" 2>&1; then
    echo "$name: not available:" >&2; { grep -E '\[(emerg|alert|crit|error)\]|: error: ' "$OUT/$name.nginx-t.log" || tail -3 "$OUT/$name.nginx-t.log"; } | head -3 | sed 's/^/    /' >&2
    status=2
    continue
  fi
  /usr/sbin/nginx -p "$prefix/" -c "conf/$conf" 2>"$OUT/$name.nginx-start.log"
  for _ in $(seq 50); do [ -s "$prefix/logs/nginx.pid" ] && break; sleep 0.1; done
  MASTER=$(cat "$prefix/logs/nginx.pid")
  WORKER=""
  for _ in $(seq 50); do
    # The master's child, from /proc (no procps needed): field 4 of /proc/PID/stat is the PPID.
    WORKER=$(awk -v m="$MASTER" '{ sub(/^.*\) /, ""); if ($2 == m) { split(FILENAME, f, "/"); print f[3]; exit } }' /proc/[0-9]*/stat 2>/dev/null || true)
    [ -n "$WORKER" ] && break; sleep 0.1
  done
  # Warm up: lazy initialisation and the open file cache are not per-request costs.
  perl "$ROOT/bench/corpus/replay.pl" "$CORPUS" "$port" 500 >/dev/null
  strace -c -f -p "$WORKER" -o "$OUT/$name.strace" 2>/dev/null &
  STRACE_PID=$!
  sleep 1  # let strace attach
  if ! perl "$ROOT/bench/corpus/replay.pl" "$CORPUS" "$port" "$N" --skip 500 >"$OUT/$name.replay.log" 2>&1; then
    echo "$name: requests failed: $(cat "$OUT/$name.replay.log")" >&2
    status=2
  fi
  sleep 0.5
  kill -INT "$STRACE_PID"; wait "$STRACE_PID" 2>/dev/null || true
  STRACE_PID=""
  stop_all
  # "% time seconds usecs/call calls [errors] syscall" rows -> "syscall calls"
  awk '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" { print $NF, $4 }' \
    "$OUT/$name.strace" | sort >"$OUT/$name.counts"
  [ -n "$reference" ] || reference=$name
done

[ -n "$reference" ] || { echo "nothing measured" >&2; exit 2; }
{
  printf '| syscall |'; for name in $CONFIGS; do [ -f "$OUT/$name.counts" ] && printf ' %s (per request) |' "$name"; done; echo
  printf '|---|'; for name in $CONFIGS; do [ -f "$OUT/$name.counts" ] && printf -- '---:|'; done; echo
  cat "$OUT"/*.counts | awk '{print $1}' | sort -u | while read -r sc; do
    printf '| %s |' "$sc"
    for name in $CONFIGS; do
      [ -f "$OUT/$name.counts" ] || continue
      c=$(awk -v s="$sc" '$1 == s { print $2 }' "$OUT/$name.counts")
      printf ' %s (%s) |' "${c:-0}" "$(awk -v c="${c:-0}" -v n="$N" 'BEGIN { printf "%.3f", c / n }')"
    done
    echo
  done
} | tee "$OUT/syscalls.md"

for name in $CONFIGS; do
  [ "$name" = "$reference" ] && continue
  [ -f "$OUT/$name.counts" ] || continue
  # Fewer extra calls than 1 per 100 requests cannot be per-request work: timers (e.g. a
  # database's mtime check every few seconds); listed, not failed.
  verdict=$(join -a1 -a2 -e 0 -o 0,1.2,2.2 "$OUT/$reference.counts" "$OUT/$name.counts" | awk -v n="$N" '
    { ref = $2; got = $3; tol = ($1 == "epoll_wait") ? 0.05 : 0.01
      if (got - ref > 0 && got - ref < n / 100) { occasional = occasional sprintf(" %s %d", $1, got - ref); next }
      if (ref == 0 && got > 0) { printf "new syscall %s (%d calls); ", $1, got; bad = 1 }
      else if (got > ref + ref * tol + 5) { printf "%s %d vs %d; ", $1, got, ref; bad = 1 } }
    END { if (!bad) printf "same syscalls"; if (occasional != "") printf " [occasional, not per request:%s]", occasional; print "" }')
  echo "$name vs $reference over $N requests: $verdict"
  case "$verdict" in "same syscalls"*) ;; *) [ $status -eq 0 ] && status=1 ;; esac
done
echo "details: $OUT" >&2
exit $status
