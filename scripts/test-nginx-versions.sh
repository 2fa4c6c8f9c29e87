#!/bin/bash
# make test-nginx-versions: the whole t/ suite against every nginx a site runs today.
#
# Debian 12's nginx (1.22, /usr/sbin/nginx with the module of build/) is tested by `make
# nginx-tests`; this script adds the releases whose sources are in ../shared/nginx-src/
# (1.26.3, 1.30.4 stable, 1.31.4 mainline). Each is unpacked into a temporary folder, built
# with the module as a dynamic module (--with-compat) and the modules the tests use (ssl,
# realip, http2, threads), and t/ runs against that nginx binary and that module. The core
# library of build/ is shared by every build (the module links it statically).
#
#   scripts/test-nginx-versions.sh [TARBALL...]     default: every ../shared/nginx-src/*.tar.gz
#   NGINX_VERSIONS_KEEP=1     keep the temporary folder (its path is printed)
#   TAILOR_TEST_REPEAT=N      passed on to the harness
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SRC_DIR=${NGINX_SRC_DIR:-$ROOT/../shared/nginx-src}
JOBS=${JOBS:-$(nproc)}

if [ ! -f "$BUILD/libtailor_core.a" ]; then
  echo "test-nginx-versions: $BUILD/libtailor_core.a is missing (make core first)" >&2
  exit 1
fi

tarballs=("$@")
if [ ${#tarballs[@]} -eq 0 ]; then
  shopt -s nullglob
  tarballs=("$SRC_DIR"/nginx-*.tar.gz)
fi
if [ ${#tarballs[@]} -eq 0 ]; then
  echo "test-nginx-versions: no nginx sources in $SRC_DIR" >&2
  exit 1
fi

WORK=$(mktemp -d /tmp/tailor-nginx-versions-XXXXXX)
# Workers run as nobody when the tests run as root: they load the module from here.
chmod 0755 "$WORK"
if [ -z "${NGINX_VERSIONS_KEEP:-}" ]; then
  trap 'rm -rf "$WORK"' EXIT
else
  echo "test-nginx-versions: keeping $WORK"
fi

status=0
passed=()
failed=()
for tarball in "${tarballs[@]}"; do
  name=$(basename "$tarball" .tar.gz)
  echo "test-nginx-versions: $name: building"
  tar xzf "$tarball" -C "$WORK"
  tree="$WORK/$name"
  configure=./configure
  [ -x "$tree/configure" ] || configure=auto/configure
  if ! (
      cd "$tree"
      TAILOR_BUILD_DIR="$BUILD" $configure --prefix="$WORK/$name-prefix" \
        --with-compat --with-debug --with-threads --with-pcre-jit \
        --with-http_ssl_module --with-http_realip_module --with-http_v2_module \
        --with-http_auth_request_module --with-http_stub_status_module \
        --add-dynamic-module="$ROOT" >"$WORK/$name-configure.log" 2>&1 \
        || { tail -30 "$WORK/$name-configure.log"; exit 1; }
      make -s -j "$JOBS" >"$WORK/$name-make.log" 2>&1 \
        || { grep -E "error|warning" "$WORK/$name-make.log" | head -40; exit 1; }
      make -s -j "$JOBS" modules >>"$WORK/$name-make.log" 2>&1 \
        || { grep -E "error|warning" "$WORK/$name-make.log" | head -40; exit 1; }
    ); then
    echo "test-nginx-versions: $name: build FAILED"
    failed+=("$name (build)")
    status=1
    continue
  fi

  echo "test-nginx-versions: $name: t/ against $("$tree/objs/nginx" -v 2>&1)"
  if (
      cd "$ROOT"
      TAILOR_NGINX="$tree/objs/nginx" \
      TAILOR_MODULE="$tree/objs/ngx_http_tailor_module.so" TAILOR_BUILD="$BUILD" \
        prove -r -I t/lib t/
    ); then
    passed+=("$name")
  else
    failed+=("$name")
    status=1
  fi
done

echo "test-nginx-versions: passed: ${passed[*]:-none}"
if [ $status -ne 0 ]; then
  echo "test-nginx-versions: FAILED: ${failed[*]}"
fi
exit $status
