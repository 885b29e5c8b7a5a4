#!/usr/bin/env bash
# Installs nasm, which the openh264 crate's build uses for OpenH264's SIMD code (the station's
# camera encodes H.264 with it, docs/video.md). Without nasm it silently builds without SIMD and
# encodes about 2.5x slower. Idempotent: does nothing when nasm is on PATH.
set -euo pipefail

if command -v nasm >/dev/null; then
  echo "nasm already installed: $(nasm -v)"
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "installing nasm"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends nasm >/dev/null
echo "nasm ready: $(nasm -v)"
