#!/usr/bin/env bash
# Makes Debian's chromium available for the browser tests (tests/browser, driven by Playwright
# from the venv with executable_path; Playwright's own browser download does not work offline),
# and NSS's certutil (libnss3-tools), with which the HTTPS page test puts the medlink CA in a
# temporary NSS database that chromium trusts. Idempotent: installs with apt-get only what is
# missing.
set -euo pipefail

missing=()
if browser=$(command -v chromium || command -v chromium-browser); then
  echo "chromium already installed: $browser"
else
  missing+=(chromium fonts-dejavu-core)
fi
if command -v certutil >/dev/null; then
  echo "certutil already installed: $(command -v certutil)"
else
  missing+=(libnss3-tools)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "installing ${missing[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
echo "chromium ready: $(command -v chromium || command -v chromium-browser); certutil: $(command -v certutil)"
