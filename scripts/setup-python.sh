#!/usr/bin/env bash
# Creates .venv with the Python peers the interop tests and baselines need; does nothing if it is current.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${MEDLINK_VENV:-$PWD/.venv}"
req=tests/interop/requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "python venv $venv is current"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
echo "python venv $venv ready: $("$venv/bin/python" -c 'import numpy, fhir.resources, paho.mqtt, pyigtl; print("numpy", numpy.__version__)')"
