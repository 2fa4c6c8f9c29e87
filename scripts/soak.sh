#!/bin/bash
# make soak: real nginx + Tailor (2 workers) with the benchmark's realistic rule set (50
# segments over geo, device, referrer, history and a CRM table; 3 experiments), driven by wrk
# with the benchmark's request corpus (rotating client IPs, User-Agents, referrers, cookies),
# one connection per request, for SOAK_SECONDS (default 120) while
#   - nginx reloads every 2 s, cycling good, changed and broken rules, and
#   - the geo database is replaced (atomic rename) every 10 s.
# Passes when wrk saw no socket error and no non-2xx response, no worker exited on a signal,
# and the anonymous memory of master + current workers grew < 5 % between minute 1 and the
# end (medians of samples over 30 s windows).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
MODULE=${TAILOR_MODULE:-$BUILD/ngx_http_tailor_module.so}
DURATION=${SOAK_SECONDS:-120}
NGINX=${TAILOR_NGINX:-/usr/sbin/nginx}
WORK=$(mktemp -d /tmp/tailor-soak.XXXXXX)
MASTER=""
WRK_PID=""

cleanup() {
  [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null || true
  if [ -n "$MASTER" ] && kill -0 "$MASTER" 2>/dev/null; then
    kill -QUIT "$MASTER" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$MASTER" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MASTER" 2>/dev/null || true
  fi
  [ -n "${SOAK_KEEP:-}" ] && echo "soak: kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

command -v wrk >/dev/null || { echo "soak: wrk is missing (scripts/setup.sh installs it)"; exit 1; }
[ -f "$MODULE" ] || { echo "soak: no module at $MODULE (make build)"; exit 1; }

"$ROOT/bench/run" --prepare-only "$WORK" --only tailor --module "$MODULE" >"$WORK/prepare.log" 2>&1 \
  || { cat "$WORK/prepare.log"; exit 1; }
PREFIX="$WORK/tailor"
DATA="$WORK/data"
CONF="$PREFIX/conf/tailor.conf"
PORT=$(sed -n 's/.*listen 127.0.0.1:\([0-9]*\);.*/\1/p' "$CONF")

# Production shape: 2 workers, no pinning, geo watched every second, tables too.
cp "$DATA/geo.mmdb" "$DATA/geo-a.mmdb"
sed -i -e 's/^worker_processes .*/worker_processes 2;/' -e '/worker_cpu_affinity/d' \
  -e 's|^error_log .*|error_log logs/error.log notice;|' \
  -e "s|tailor_geoip2 .*|tailor_geoip2 $PREFIX/conf/geo.mmdb auto_reload=1s;\n    tailor_tables_reload 1s;|" \
  "$CONF"
cp "$DATA/geo-a.mmdb" "$PREFIX/conf/geo.mmdb"
# The second database: MaxMind's test City database when ../shared has it, else a copy.
GEO_B="$ROOT/../shared/data/maxmind-test/GeoIP2-City-Test.mmdb"
[ -f "$GEO_B" ] || GEO_B="$DATA/geo-a.mmdb"

RULES="$PREFIX/conf/tailor.rules"
cp "$RULES" "$WORK/good.rules"
{ cat "$WORK/good.rules"; echo 'segment soak_changed = path == "/soak"'; } >"$WORK/changed.rules"
{ cat "$WORK/good.rules"; echo 'segment broken = geo.country == '; } >"$WORK/broken.rules"

"$NGINX" -t -p "$PREFIX/" -c conf/tailor.conf -e logs/error.log >"$WORK/nginx-t.log" 2>&1 \
  || { cat "$WORK/nginx-t.log"; exit 1; }
"$NGINX" -p "$PREFIX/" -c conf/tailor.conf -e logs/error.log -g 'daemon off;' \
  >"$PREFIX/logs/stdout.log" 2>&1 &
MASTER=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.1
done

# Anonymous memory (RssAnon: heap, not the mapped geo database or shared libraries, whose
# resident pages depend on which database is current) of the master and its current workers
# (old ones "shutting down" excluded), in kB. A leak in configuration loading grows the
# master's; a leak per request grows the workers'.
# A sample counts only when both current workers are up (one still starting would look like
# a drop in memory).
rss() {
  local total=0 workers=0 pid kb cmd
  for pid in $MASTER $(pgrep -P "$MASTER" || true); do
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    case "$cmd" in *"shutting down"*|"") continue ;; *"worker process"*) workers=$((workers + 1)) ;; esac
    kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  [ "$workers" -eq 2 ] && echo "$total" || true
}

# The first configuration loads fill what lives as long as the master (glibc's arenas, the
# time zones the tz library caches once a database names them): load it 40 times first, so
# that the comparison below sees growth that does not settle, i.e. a leak. (The master still
# grows once more, by about 1 MB, when the second geo database first brings its zones.)
for _ in $(seq 20); do
  for r in changed good; do cp "$WORK/$r.rules" "$RULES"; kill -HUP "$MASTER"; sleep 0.25; done
done
sleep 1
master_start=$(awk '/^RssAnon:/ {print $2}' "/proc/$MASTER/status")

echo "soak: $DURATION s of wrk on 127.0.0.1:$PORT (2 workers), reload every 2 s, geo swap every 10 s"
BENCH_CORPUS="$DATA/corpus.lua" WRK_CONNECTION_CLOSE=1 \
  timeout $((DURATION + 60)) wrk -t2 -c16 -d"${DURATION}s" --timeout 5s \
  -s "$ROOT/bench/lua/wrk-corpus.lua" "http://127.0.0.1:$PORT/" >"$WORK/wrk.out" 2>&1 &
WRK_PID=$!

cycle=(changed broken good broken changed good)
start=$(date +%s)
i=0; swaps=0; rss1=""; samples1=(); samples2=()
while kill -0 "$WRK_PID" 2>/dev/null; do
  sleep 2
  now=$(( $(date +%s) - start ))
  cp "$WORK/${cycle[$((i % ${#cycle[@]}))]}.rules" "$RULES"
  kill -HUP "$MASTER"
  i=$((i + 1))
  if (( i % 5 == 0 )); then
    if (( swaps % 2 == 0 )); then src="$GEO_B"; else src="$DATA/geo-a.mmdb"; fi
    cp "$src" "$PREFIX/conf/geo.mmdb.new" && mv "$PREFIX/conf/geo.mmdb.new" "$PREFIX/conf/geo.mmdb"
    swaps=$((swaps + 1))
  fi
  # Memory samples between reloads (1 s after one), each window 30 s wide so that it spans
  # both geo databases and several worker generations: around minute 1 and at the end.
  ( sleep 1; rss >"$WORK/rss.$i" ) &
  if (( now >= 45 && now < 75 )); then samples1+=("$i"); fi
  if (( now >= DURATION - 32 && now <= DURATION - 2 )); then samples2+=("$i"); fi
done
wait "$WRK_PID" || true
WRK_PID=""
sleep 1.5

# The median of each window. (The module returns the pages freed by each configuration load
# to the system; before it did, the master's heap, inherited by every worker, came and went
# by 2 to 4 MB from one reload to the next and made this comparison flip.)
window() { for s in "$@"; do cat "$WORK/rss.$s" 2>/dev/null; done; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR + 1) / 2)] : 0)}'; }
n1=$(window "${samples1[@]}" | wc -l); n2=$(window "${samples2[@]}" | wc -l)
m1=$(window "${samples1[@]}" | median); m2=$(window "${samples2[@]}" | median)

cat "$WORK/wrk.out"
requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
socket_errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$WORK/wrk.out")
non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$WORK/wrk.out")
master_end=$(awk '/^RssAnon:/ {print $2}' "/proc/$MASTER/status" 2>/dev/null || echo 0)
crashes=$(grep -c "exited on signal" "$PREFIX/logs/error.log" || true)
rejected=$(grep -c "invalid tailor configuration" "$PREFIX/logs/error.log" || true)
geo_swaps=$(grep -c "geo\.mmdb.*swapped" "$PREFIX/logs/error.log" || true)

status=0
echo "soak: requests ${requests:-0}, socket errors ${socket_errors:-0}, non-2xx ${non2xx:-0}"
echo "soak: reloads $i (rejected broken rules: $rejected), geo swaps $swaps (swaps logged by workers: $geo_swaps)"
echo "soak: worker exits on a signal: $crashes"
echo "soak: master anonymous RSS after the warm-up reloads ${master_start} kB, at the end ${master_end} kB"
echo "soak: anonymous RSS of master + current workers (medians of ${n1} and ${n2} samples): minute 1 ${m1} kB, end ${m2} kB"
echo "soak: samples (kB): minute 1: $(window "${samples1[@]}" | tr '\n' ' ')"
echo "soak: samples (kB): end: $(window "${samples2[@]}" | tr '\n' ' ')"
[ "${requests:-0}" -gt 1000 ] || { echo "soak: FAIL: too few requests"; status=1; }
[ "${socket_errors:-0}" -eq 0 ] || { echo "soak: FAIL: socket errors"; status=1; }
[ "${non2xx:-0}" -eq 0 ] || { echo "soak: FAIL: non-2xx responses"; status=1; }
[ "$crashes" -eq 0 ] || { echo "soak: FAIL: a worker crashed"; grep "exited on signal" "$PREFIX/logs/error.log" | head; status=1; }
[ "$rejected" -gt 0 ] || { echo "soak: FAIL: broken rules were never rejected"; status=1; }
[ "$swaps" -lt 2 ] || [ "$geo_swaps" -gt 0 ] || { echo "soak: FAIL: no worker swapped the geo database"; status=1; }
if [ "${n1:-0}" -ge 5 ] && [ "${n2:-0}" -ge 5 ] && [ "${m1:-0}" -gt 0 ] && [ "${m2:-0}" -gt 0 ]; then
  growth=$(awk -v a="$m1" -v b="$m2" 'BEGIN {printf "%.2f", (b - a) * 100 / a}')
  echo "soak: RSS growth ${growth} %"
  awk -v a="$m1" -v b="$m2" 'BEGIN {exit !(b < a * 1.05)}' || { echo "soak: FAIL: RSS grew >= 5 %"; status=1; }
else
  echo "soak: FAIL: fewer than 5 RSS samples in a window (run at least 110 s)"; status=1
fi
[ $status -eq 0 ] && echo "soak: passed" || echo "soak: FAILED"
exit $status
