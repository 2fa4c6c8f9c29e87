#!/bin/bash
# make test-sanitize: the core, tailorc, the unit tests and the nginx module built with
# AddressSanitizer + UndefinedBehaviorSanitizer in build-sanitize/, then ctest and the whole
# t/ suite against that module. Debian's nginx is not sanitized, so the sanitizer runtimes are
# preloaded into it (workers are forks of the master and inherit them). Reports go to files
# (ASan/UBSan log_path) and any report fails the run, even when the test that triggered it
# passed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_SANITIZE:-$ROOT/build-sanitize}
NGINX_SRC=${NGINX_SRC:-/usr/share/nginx/src}
SAN=address,undefined
JOBS=${JOBS:-$(nproc)}

echo "test-sanitize: building in $BUILD ($SAN)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAILOR_SANITIZE=$SAN \
  -DTAILOR_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS"
TAILOR_NGX_CC_OPT="-fsanitize=$SAN -fno-omit-frame-pointer -fno-sanitize-recover=all" \
TAILOR_NGX_LD_OPT="-fsanitize=$SAN" \
  "$ROOT/scripts/build-module.sh" "$NGINX_SRC" "$BUILD"

REPORTS="$BUILD/sanitizer-reports"
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
# detect_leaks=0: nginx exits without freeing its pools (not our leaks; the unit tests and
# fuzzers check leaks in the core). halt_on_error: the first error stops the process.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=$REPORTS/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$REPORTS/ubsan"

status=0
echo "test-sanitize: unit tests"
(cd "$BUILD" && ctest --output-on-failure -j "$JOBS") || status=1

echo "test-sanitize: nginx tests with the sanitized module"
preload="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
(
  cd "$ROOT"
  TAILOR_NGINX_PRELOAD="$preload" \
  TAILOR_MODULE="$BUILD/ngx_http_tailor_module.so" TAILOR_BUILD="$BUILD" \
    prove -r -I t/lib t/
) || status=1

if compgen -G "$REPORTS/*" >/dev/null; then
  echo "test-sanitize: sanitizer reports:"
  for f in "$REPORTS"/*; do
    echo "== $f"
    head -60 "$f"
  done
  status=1
fi

if [ $status -eq 0 ]; then
  echo "test-sanitize: passed (no ASan/UBSan report)"
else
  echo "test-sanitize: FAILED"
fi
exit $status
