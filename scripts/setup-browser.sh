#!/usr/bin/env bash
# Makes Debian's chromium available for the dashboard's browser test (tests/browser, driven by
# Playwright from the venv with executable_path; Playwright's own browser download does not work
# offline). Idempotent: does nothing when a chromium is on PATH, else installs it with apt-get.
set -euo pipefail

if browser=$(command -v chromium || command -v chromium-browser); then
  echo "chromium already installed: $browser"
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "installing chromium"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core >/dev/null
echo "chromium ready: $(command -v chromium)"
