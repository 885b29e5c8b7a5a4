#!/usr/bin/env bash
# Makes mosquitto and its clients available for the hub's interop tests and benchmark.
# Idempotent: uses what is installed; installs (apt-get) only what is missing. The tests start
# their own mosquitto on a free loopback port, so nothing is started here.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
have mosquitto || missing+=(mosquitto)
have mosquitto_pub || missing+=(mosquitto-clients)
if [ ${#missing[@]} -eq 0 ]; then
  echo "mosquitto and mosquitto-clients already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "need root or sudo to install ${missing[*]}" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts a system mosquitto on 1883; the tests use their own port, so stop it if we can
# to keep 1883 free for `medlink hub`.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true; fi
