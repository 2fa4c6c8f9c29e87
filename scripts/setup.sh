#!/bin/sh
# Installs every Debian package Tailor's build, demo, tests and benchmarks need.
# Idempotent: does nothing when everything is already installed.
set -eu

PACKAGES="
build-essential cmake pkg-config git
nginx nginx-dev
libmaxminddb-dev mmdb-bin libmaxmind-db-writer-perl libpcre2-dev
libxxhash-dev libvectorscan-dev libluajit2-5.1-dev libssl-dev zlib1g-dev tzdata libcctz-dev
libyaml-dev nlohmann-json3-dev libboost-dev
googletest libgtest-dev libgmock-dev libbenchmark-dev
libtest-base-perl libjson-pp-perl perl
clang libclang-rt-14-dev
wrk libnginx-mod-http-lua libnginx-mod-http-geoip2 strace valgrind
curl ca-certificates
"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "setup: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# policy-rc.d keeps the package scripts from starting a system nginx on port 80.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -q --no-install-recommends $missing
