#!/bin/bash
# Starts nginx with Tailor in the foreground on 127.0.0.1:8080 (PORT=... to change) with the
# demo rules and pages in examples/. Ctrl-C stops it.
set -euo pipefail
BUILD=${1:-$PWD/build}
PORT=${PORT:-8080}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX="$BUILD/demo"
mkdir -p "$PREFIX/conf" "$PREFIX/logs" "$PREFIX/tmp"
sed -e "s|@MODULE@|$BUILD/ngx_http_tailor_module.so|" -e "s|@EXAMPLES@|$ROOT/examples|g" \
    -e "s|@PORT@|$PORT|" -e "s|@BUILD@|$BUILD|g" \
    "$ROOT/examples/nginx-demo.conf" >"$PREFIX/conf/nginx.conf"
/usr/sbin/nginx -p "$PREFIX" -c conf/nginx.conf -t
cat <<MSG

Tailor demo on http://127.0.0.1:$PORT/  (Ctrl-C to stop; logs in $PREFIX/logs)
  curl -i http://127.0.0.1:$PORT/
  curl -i 'http://127.0.0.1:$PORT/?utm_medium=email'
  curl -i -H 'Cookie: beta=1' http://127.0.0.1:$PORT/
  curl -i -H 'X-Beta: yes' http://127.0.0.1:$PORT/shop/shoes

MSG
exec /usr/sbin/nginx -p "$PREFIX" -c conf/nginx.conf -g 'daemon off;'
