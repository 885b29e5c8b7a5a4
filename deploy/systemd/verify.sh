#!/usr/bin/env bash
# verify.sh: checks the unit files with `systemd-analyze verify` (docs/deploy.md, "systemd").
# verify insists that every ExecStart binary exists, so the units are checked in a temporary
# copy whose /usr/local/bin/medlink and /usr/local/lib/medlink/backup.sh point at this checkout
# (MEDLINK_BIN, default target/release/medlink). Exits non-zero on any complaint.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$(realpath "${MEDLINK_BIN:-$root/target/release/medlink}")"
[[ -x "$bin" ]] || { echo "verify.sh: $bin missing: cargo build --release -p medlink" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "verify.sh: systemd-analyze missing (apt-get install systemd)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for unit in "$here"/*.service "$here"/*.timer; do
    sed -e "s|/usr/local/bin/medlink|$bin|g" \
        -e "s|/usr/local/lib/medlink/backup.sh|$root/deploy/backup.sh|g" "$unit" > "$tmp/$(basename "$unit")"
done
# A template is verified through an instance of it.
cp "$tmp/medlink-hub@.service" "$tmp/medlink-hub@a.service"
cd "$tmp"
status=0
for unit in *.service *.timer; do
    [[ "$unit" == *@.service ]] && continue
    out="$(systemd-analyze verify --man=no "./$unit" 2>&1)" || status=1
    # verify prints warnings without failing; treat any line about our unit as a failure.
    if [[ -n "$out" ]]; then
        echo "$unit:"; echo "$out" | sed 's/^/  /'
        status=1
    else
        echo "$unit: OK"
    fi
done
# The sandbox's exposure score (0 = locked down, 10 = none), for the long-running services.
for unit in medlink-hub.service medlink-hub@a.service medlink-station.service; do
    score="$(systemd-analyze security --offline=true "./$unit" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: //p')"
    echo "$unit: systemd-analyze security exposure $score"
done
exit $status
