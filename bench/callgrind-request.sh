#!/bin/bash
# Instructions per request for Tailor's request path, against plain nginx, with callgrind.
#
# Each configuration runs as ONE process under valgrind (`master_process off; daemon off;`)
# and serves the corpus twice: N1 requests, then (in a second run) N2 > N1. The difference of
# the total instruction counts divided by N2 - N1 is the cost of one request, free of startup
# and shutdown. Then: Tailor's per-request instructions minus the baseline's = what Tailor adds.
#   warm: the corpus as is (17 User-Agents and a few thousand IPs: caches hit);
#   cold: every request has a unique User-Agent and client IP (replay.pl --cold), so each
#         signal is computed from scratch.
#
# Usage: bench/callgrind-request.sh [--requests N] [--module PATH] [--out DIR] [--configs LIST]
#   --requests N  N2 - N1 (default 2000); N1 is 200
#   --configs     default "baseline tailor" (add native, lua to compare those too)
# Also counts heap allocator calls per request (malloc, calloc, realloc, operator new,
# memalign; nginx's pools included) and writes the callers that allocate per request to
# DIR/NAME.MODE.allocs-per-request.txt.
# Output: a table on stdout and DIR/callgrind.json; DIR keeps the callgrind.out files and the
# top functions of the Tailor run (callgrind_annotate).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N_EXTRA=2000
N1=200
OUT=""
CONFIGS="baseline tailor"
MODULE_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) N_EXTRA=$2; shift 2 ;;
    --module) MODULE_ARGS=(--module "$2"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "valgrind not found (scripts/setup.sh)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/tailor-callgrind-XXXXXX)
chmod 755 "$WORK"
OUT=${OUT:-$WORK/out}
mkdir -p "$OUT"
VG_PID=""
cleanup() {
  if [ -n "$VG_PID" ] && kill -0 "$VG_PID" 2>/dev/null; then
    kill -TERM "$VG_PID" 2>/dev/null || true
    sleep 2
    kill -KILL "$VG_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK/prefixes"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

"$ROOT/bench/run" --prepare-only "$WORK/prefixes" "${MODULE_ARGS[@]}" >"$WORK/prefixes.tsv" 2>"$WORK/prepare.log"
CORPUS="$WORK/prefixes/data/corpus.tsv"
N2=$((N1 + N_EXTRA))

# Runs one configuration under callgrind for N requests; prints the total instruction count.
# $1 name, $2 prefix, $3 conf file, $4 port, $5 N, $6 "cold" or "warm"
measure() {
  local name=$1 prefix=$2 conf=$3 port=$4 n=$5 mode=$6
  local outfile="$OUT/callgrind.out.$name.$mode.$n"
  local cold_flag=()
  [ "$mode" = cold ] && cold_flag=(--cold)
  if ! /usr/sbin/nginx -p "$prefix/" -c "conf/$conf" -t >"$OUT/$name.nginx-t.log" 2>&1; then
    echo "NA"
    return
  fi
  valgrind --tool=callgrind --callgrind-out-file="$outfile" --trace-children=no \
    /usr/sbin/nginx -p "$prefix/" -c "conf/$conf" -g 'master_process off; daemon off;' \
    >"$OUT/$name.$mode.$n.valgrind.log" 2>&1 &
  VG_PID=$!
  if ! timeout 600 perl "$ROOT/bench/corpus/replay.pl" "$CORPUS" "$port" "$n" "${cold_flag[@]}" \
      >"$OUT/$name.$mode.$n.replay.log" 2>&1; then
    kill -KILL "$VG_PID" 2>/dev/null || true
    wait "$VG_PID" 2>/dev/null || true
    VG_PID=""
    echo "FAIL"
    return
  fi
  kill -TERM "$VG_PID"
  wait "$VG_PID" 2>/dev/null || true
  VG_PID=""
  # "summary: 123456" (older valgrind) or "totals: 123456" lines hold the Ir total.
  awk '/^(summary|totals):/ { print $2; exit }' "$outfile"
}

# Heap allocator calls (malloc, calloc, realloc, operator new, memalign) in a callgrind.out
# file, by calling function: "COUNT<TAB>CALLER" lines.
allocs_by_caller() {
  perl -e '
    my (%name, $fn, $callee, %by);
    while (<>) {
      if (/^(c?)fn=\((\d+)\)(?: (.*))?$/) {
        my ($c, $id, $nm) = ($1, $2, $3);
        $name{$id} = $nm if defined $nm;
        if ($c) { $callee = $name{$id} } else { $fn = $name{$id} }
        next;
      }
      if (/^calls=(\d+)/) {
        my $n = $1;
        $by{$fn} += $n if defined $callee && $fn !~ /^(_mid_memalign|__libc_|_int_|malloc$|calloc$|realloc$)/
          && $callee =~ /^(malloc|calloc|realloc|operator new\b.*|aligned_alloc|posix_memalign)$/;
      }
    }
    print "$by{$_}\t$_\n" for sort { $by{$b} <=> $by{$a} } keys %by;' "$1"
}
total_allocs() { allocs_by_caller "$1" | awk -F'\t' '{ n += $1 } END { print n + 0 }'; }

declare -A IR ALLOC
printf '%-14s %-5s %14s %14s %12s %10s\n' config mode "Ir(N1=$N1)" "Ir(N2=$N2)" "Ir/request" "allocs/req" >&2
for mode in warm cold; do
  for name in $CONFIGS; do
    line=$(awk -F'\t' -v n="$name" '$1 == n' "$WORK/prefixes.tsv")
    [ -n "$line" ] || { echo "unknown configuration $name" >&2; continue; }
    IFS=$'\t' read -r _ prefix conf port <<<"$line"
    a=$(measure "$name" "$prefix" "$conf" "$port" "$N1" "$mode")
    b=$(measure "$name" "$prefix" "$conf" "$port" "$N2" "$mode")
    if [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]]; then
      IR[$name.$mode]=$(( (b - a) / (N2 - N1) ))
      fa=$(total_allocs "$OUT/callgrind.out.$name.$mode.$N1")
      fb=$(total_allocs "$OUT/callgrind.out.$name.$mode.$N2")
      ALLOC[$name.$mode]=$(awk -v a="$fa" -v b="$fb" -v n=$((N2 - N1)) 'BEGIN { printf "%.2f", (b - a) / n }')
      # Which callers allocate per request (the difference between the two runs).
      join -t $'\t' -1 2 -2 2 -a 2 -e 0 -o 0,1.1,2.1 \
        <(allocs_by_caller "$OUT/callgrind.out.$name.$mode.$N1" | sort -t $'\t' -k2,2) \
        <(allocs_by_caller "$OUT/callgrind.out.$name.$mode.$N2" | sort -t $'\t' -k2,2) |
        awk -F'\t' -v n=$((N2 - N1)) '$3 > $2 { printf "%.3f\t%s\n", ($3 - $2) / n, $1 }' |
        sort -rn >"$OUT/$name.$mode.allocs-per-request.txt"
    else
      IR[$name.$mode]="NA"
      if [ -f "$OUT/$name.nginx-t.log" ]; then { grep -E '\[(emerg|alert|crit|error)\]|: error: ' "$OUT/$name.nginx-t.log" || tail -3 "$OUT/$name.nginx-t.log"; } | head -3 | sed 's/^/    /' >&2; fi
    fi
    printf '%-14s %-5s %14s %14s %12s %10s\n' "$name" "$mode" "$a" "$b" "${IR[$name.$mode]}" "${ALLOC[$name.$mode]:-NA}" >&2
  done
done

# The table and the JSON.
{
  echo "| configuration | Ir / request (warm) | Ir / request (cold) | added vs baseline (warm) | added (cold) | heap allocs / request (warm) |"
  echo "|---|---:|---:|---:|---:|---:|"
  for name in $CONFIGS; do
    w=${IR[$name.warm]:-NA} c=${IR[$name.cold]:-NA}
    bw=${IR[baseline.warm]:-NA} bc=${IR[baseline.cold]:-NA}
    aw=NA ac=NA
    [[ "$w" =~ ^[0-9]+$ && "$bw" =~ ^[0-9]+$ ]] && aw=$((w - bw))
    [[ "$c" =~ ^[0-9]+$ && "$bc" =~ ^[0-9]+$ ]] && ac=$((c - bc))
    echo "| $name | $w | $c | $aw | $ac | ${ALLOC[$name.warm]:-NA} |"
  done
} | tee "$OUT/callgrind.md"
{
  echo "{"
  echo "  \"requests_measured\": $N_EXTRA,"
  first=1
  for name in $CONFIGS; do
    for mode in warm cold; do
      v=${IR[$name.$mode]:-NA}
      [[ "$v" =~ ^[0-9]+$ ]] || v=null
      [ $first = 1 ] || echo ","
      al=${ALLOC[$name.$mode]:-null}
      printf '  "%s_%s_ir_per_request": %s,\n  "%s_%s_heap_allocs_per_request": %s' "$name" "$mode" "$v" "$name" "$mode" "$al"
      first=0
    done
  done
  echo
  echo "}"
} >"$OUT/callgrind.json"
for f in "$OUT"/callgrind.out.tailor.*."$N2"; do
  [ -f "$f" ] && callgrind_annotate --inclusive=yes "$f" 2>/dev/null | grep -i -m 30 'tailor' \
    >"$f.top-tailor.txt" || true
done
echo "details: $OUT" >&2
