#!/bin/bash
# Builds build/ngx_http_tailor_module.so against Debian's nginx sources, configured with the
# exact flags of Debian's /usr/sbin/nginx (binary compatibility for dynamic modules).
set -euo pipefail
NGINX_SRC=${1:-/usr/share/nginx/src}
BUILD=${2:-$PWD/build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OBJ_TREE="$BUILD/nginx"

if [ ! -f "$OBJ_TREE/objs/Makefile" ] || [ "$ROOT/config" -nt "$OBJ_TREE/objs/Makefile" ]; then
  rm -rf "$OBJ_TREE"
  cp -r "$NGINX_SRC" "$OBJ_TREE"
  (
    cd "$OBJ_TREE"
    # shellcheck disable=SC1091
    source ./conf_flags
    TAILOR_BUILD_DIR="$BUILD" ./configure "${NGX_CONF_FLAGS[@]}" \
      --with-cc-opt="-g -O2 -fPIC ${TAILOR_NGX_CC_OPT:-}" \
      --with-ld-opt="-fPIC ${TAILOR_NGX_LD_OPT:-}" \
      --add-dynamic-module="$ROOT" >"$BUILD/nginx-configure.log" 2>&1 \
      || { tail -30 "$BUILD/nginx-configure.log"; exit 1; }
  )
fi
# The core library is not a make dependency of the module in nginx's Makefile: relink always.
rm -f "$OBJ_TREE/objs/ngx_http_tailor_module.so"
make -s -C "$OBJ_TREE" -f objs/Makefile modules -j "$(nproc)"
cp "$OBJ_TREE/objs/ngx_http_tailor_module.so" "$BUILD/ngx_http_tailor_module.so"
echo "built $BUILD/ngx_http_tailor_module.so"
