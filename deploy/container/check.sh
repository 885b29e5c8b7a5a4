#!/usr/bin/env bash
# check.sh: what can be checked of the Containerfile without building it here (docs/deploy.md,
# "Container": no image can be pulled from this machine):
#  1. every COPY source exists in the checkout, and every file the crates embed
#     (include_str!/include_bytes! with a relative path) lies inside what is copied;
#  2. the binary links only libraries the runtime stage installs (ldd);
#  3. the image's CMD, run as written (its paths moved into a temporary directory, its ports
#     to free ones), starts the hub, and the HEALTHCHECK command, as written, passes against it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
file="$here/Containerfile"
bin="${MEDLINK_BIN:-$root/target/release/medlink}"
cd "$root"
fail() { echo "FAIL: $*"; exit 1; }

# 1. COPY sources (those not --from another stage).
copied=()
while read -r src; do
    [[ -e "$src" ]] || fail "COPY $src: no such path in the checkout"
    copied+=("${src%/}")
done < <(sed -n 's/^COPY \([^-][^ ]*\( [^ ]*\)*\) [^ ]*$/\1/p' "$file" | tr ' ' '\n')
echo "ok: COPY sources exist: ${copied[*]}"
while IFS=: read -r source_file _ path; do
    target="$(realpath -m "$(dirname "$source_file")/$path")"
    rel="${target#"$root"/}"
    inside=""
    for c in "${copied[@]}"; do [[ "$rel" == "$c" || "$rel" == "$c"/* ]] && inside=1; done
    [[ -n "$inside" ]] || fail "$source_file embeds $rel, which the Containerfile does not COPY"
done < <(grep -rnoE 'include_(str|bytes)!\("[^"]+"\)' crates --include='*.rs' \
    | sed -E 's/^([^:]+):[0-9]+:include_(str|bytes)!\("([^"]+)"\)$/\1:x:\3/')
echo "ok: every include_str!/include_bytes! target lies inside a COPY'd path"

# 2. Shared libraries.
[[ -x "$bin" ]] || fail "$bin missing: cargo build --release -p medlink"
libs="$(ldd "$bin" | awk '{print $1}' | grep -vE '^(linux-vdso|/lib64/ld-linux)' | sort | tr '\n' ' ')"
for lib in $libs; do
    case "$lib" in
        libstdc++.so.6|libgcc_s.so.1|libm.so.6|libc.so.6) ;;
        *) fail "the binary needs $lib, which the runtime stage does not install" ;;
    esac
done
echo "ok: the binary links only $libs(libstdc++6 installed, the rest in bookworm-slim)"

# 3. CMD and HEALTHCHECK as written.
t="$(mktemp -d)"
hub=""
cleanup() { [[ -n "$hub" ]] && kill "$hub" 2>/dev/null; rm -rf "$t"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
https="$(free_port)"; mqtt="$(free_port)"
"$bin" pki init --dir "$t/pki" >/dev/null 2>&1
"$bin" pki issue --dir "$t/pki" --role station --name "ward hub" --station-name hub.ward.example --out "$t/hub" >/dev/null 2>&1
mkdir -p "$t/secrets" "$t/data"
cp "$t/hub/ward-hub.crt" "$t/secrets/tls.crt"; cp "$t/hub/ward-hub.key" "$t/secrets/tls.key"
json_array() { # INSTRUCTION: its exec-form array, joined over continuation lines, one item a line
    python3 - "$file" "$1" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
for line in text.splitlines():
    m = re.match(r"\s*" + sys.argv[2] + r"\s+(?:--\S+\s+)*(?:CMD\s+)?(\[.*\])\s*$", line)
    if m:
        for item in json.loads(m.group(1)):
            print(item)
PY
}
remap() { sed -e "s|/var/lib/medlink|$t/data|g" -e "s|/run/secrets|$t/secrets|g" \
    -e "s|0.0.0.0:8443|127.0.0.1:$https|; s|0.0.0.0:8883|127.0.0.1:$mqtt|; s|127.0.0.1:8443|127.0.0.1:$https|"; }
mapfile -t cmd < <(json_array CMD | remap)
mapfile -t health < <(json_array HEALTHCHECK | remap)
[[ ${#cmd[@]} -gt 0 && ${#health[@]} -gt 0 ]] || fail "no CMD or HEALTHCHECK in exec form"
"$bin" "${cmd[@]}" > "$t/hub.log" 2>&1 &
hub=$!
for _ in $(seq 100); do "${health[@]}" 2>/dev/null && break; sleep 0.1; done
"${health[@]}" || { cat "$t/hub.log"; fail "the HEALTHCHECK command fails against the hub started by CMD"; }
echo "ok: CMD (medlink ${cmd[*]:0:1} ...) serves HTTPS and MQTT over TLS; HEALTHCHECK (${health[*]}) passes"
curl -fsS --insecure "https://127.0.0.1:$https/api/patients" -o /dev/null 2>/dev/null \
    && fail "/api/patients answered without credentials"
echo "ok: and /api/patients without credentials is refused"
echo "all container checks passed"
