#!/bin/bash
# Builds every libFuzzer target with clang + ASan + UBSan and runs each for N seconds on its
# seed corpus (fuzz/corpus/<name>/). Any crash, leak or timeout fails the run; the crashing
# input is left in build-fuzz/artifacts/ to become a regression test.
set -euo pipefail
# Usage: run-fuzzers.sh [SECONDS_EACH] [NAME=SECONDS ...]   (e.g. 20 rules=60)
SECONDS_EACH=${1:-60}
shift || true
declare -A SECONDS_FOR=()
for arg in "$@"; do SECONDS_FOR[${arg%%=*}]=${arg#*=}; done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/build-fuzz"
ONLY=${FUZZ_TARGETS:-}

CC=clang CXX=clang++ cmake -S "$ROOT" -B "$OUT" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTAILOR_FUZZ=ON -DTAILOR_TESTS=OFF -DTAILOR_BENCH=OFF \
  -DTAILOR_SANITIZE=address,undefined \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$OUT" -j "$(nproc)"

mkdir -p "$OUT/artifacts"
status=0
for bin in "$OUT"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  if [ -n "$ONLY" ] && ! grep -qw "$name" <<<"$ONLY"; then continue; fi
  corpus="$OUT/corpus/$name"
  mkdir -p "$corpus"
  seeds=()
  [ -d "$ROOT/fuzz/corpus/$name" ] && seeds+=("$ROOT/fuzz/corpus/$name")
  secs=${SECONDS_FOR[$name]:-$SECONDS_EACH}
  echo "fuzz: $name for ${secs}s"
  if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$OUT/artifacts/$name-" -print_final_stats=1 \
        "$corpus" "${seeds[@]}" >"$OUT/$name.log" 2>&1; then
    echo "fuzz: $name FAILED (log: $OUT/$name.log)"; tail -40 "$OUT/$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units" "$OUT/$name.log" | sed "s/^/fuzz: $name /" || true
  fi
done
exit $status
