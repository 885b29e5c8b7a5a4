#!/usr/bin/env bash
# check.sh: runs central.conf and site-bridge.conf with mosquitto on loopback test ports, with
# their paths pointed into a temporary directory (docs/deploy.md, "MQTT"), and checks that
#  1. each broker parses its configuration and keeps running (2 s),
#  2. the site's bridge connects to the central broker over TLS with its client certificate,
#  3. a device's reading published to the site broker (TLS, its password) reaches the hub's
#     account subscribed on the central broker, and the hub's ack comes back down to the device,
#  4. the device's forgery on another device's topic is not forwarded (the site's ACL).
# Needs mosquitto, mosquitto_pub/sub (apt-get install mosquitto mosquitto-clients) and a built
# medlink (MEDLINK_BIN, default target/release/medlink) for the PKI and the passwd/acl files.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
medlink="${MEDLINK_BIN:-$root/target/release/medlink}"
for tool in mosquitto mosquitto_pub mosquitto_sub; do
    command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || { echo "check.sh: $tool missing" >&2; exit 1; }
done
mosquitto="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
t="$(mktemp -d)"
pids=()
# KEEP=1 keeps the temporary directory (logs, configurations) for a look afterwards.
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [[ -n "${KEEP:-}" ]]; then echo "kept $t"; else rm -rf "$t"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The site's CA, the brokers' server certificates, the bridge's client certificate, a CRL.
m="$t/medlink"
mkdir -p "$m" "$t/central-data" "$t/site-data"
"$medlink" pki init --dir "$t/pki" >/dev/null 2>&1
"$medlink" pki issue --dir "$t/pki" --role station --name "central broker" --station-name 127.0.0.1 --out "$t/central" >/dev/null 2>&1
"$medlink" pki issue --dir "$t/pki" --role station --name "site broker" --station-name 127.0.0.1 --out "$t/site" >/dev/null 2>&1
"$medlink" pki issue --dir "$t/pki" --role site-bridge --name "bridge-site-a" --out "$t/bridge" >/dev/null 2>&1
"$medlink" pki issue --dir "$t/pki" --role site-bridge --name "retired bridge" --out "$t/retired" >/dev/null 2>&1
"$medlink" pki revoke --dir "$t/pki" --cert "$t/retired/retired-bridge.crt" >/dev/null 2>&1
cp "$t/pki/ca.crt" "$t/pki/ca.crl" "$m/"
cp "$t/central/central-broker.crt" "$m/broker.crt"; cp "$t/central/central-broker.key" "$m/broker.key"
cp "$t/site/site-broker.crt" "$m/site.crt"; cp "$t/site/site-broker.key" "$m/site.key"
cp "$t/bridge/bridge-site-a.crt" "$m/bridge-site-a.crt"; cp "$t/bridge/bridge-site-a.key" "$m/bridge-site-a.key"
cp "$here/bridges.acl" "$m/"
# Two devices and the hub's account, as medlink writes them.
pw1="$("$medlink" hub device add w-1 --patient p-1 --db "$t/hub.db" | grep -oE '[A-Za-z0-9_-]{24}' | tail -1)"
"$medlink" hub device add w-2 --patient p-2 --db "$t/hub.db" >/dev/null 2>&1
"$medlink" hub device mosquitto --db "$t/hub.db" --dir "$m" >/dev/null 2>&1
hubpw="$(head -1 "$m/hub.password")"
[[ -n "$pw1" && -n "$hubpw" ]] || { echo "check.sh: no device or hub password" >&2; exit 1; }

hub_port="$(free_port)"; central_tls="$(free_port)"; bridge_port="$(free_port)"; site_tls="$(free_port)"; nobody="$(free_port)"
common_sed=(-e "s|/etc/mosquitto/medlink|$m|g" -e "s|^log_dest syslog|log_dest stderr|" -e "1i user $(id -un)")
sed "${common_sed[@]}" -e "s|/var/lib/mosquitto/|$t/central-data/|" \
    -e "s|^listener 1883 127.0.0.1|listener $hub_port 127.0.0.1|" \
    -e "s|^listener 8883 0.0.0.0|listener $central_tls 127.0.0.1|" \
    -e "s|^listener 8884 0.0.0.0|listener $bridge_port 127.0.0.1|" "$here/central.conf" > "$t/central.conf"
sed "${common_sed[@]}" -e "s|/var/lib/mosquitto/|$t/site-data/|" \
    -e "s|^listener 8883 0.0.0.0|listener $site_tls 127.0.0.1|" \
    -e "s|^address .*|address 127.0.0.1:$bridge_port 127.0.0.1:$nobody|" "$here/site-bridge.conf" > "$t/site.conf"

start() { # name conf
    "$mosquitto" -v -c "$2" > "$t/$1.log" 2>&1 &
    pids+=($!)
    sleep 2
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
        echo "FAIL: mosquitto did not keep running with $1's configuration:"; sed 's/^/  /' "$t/$1.log"; exit 1
    fi
    echo "ok: $1 configuration parses, mosquitto running for 2 s ($(head -1 "$t/$1.log" | sed 's/^[0-9]*: //'))"
}
start central "$t/central.conf"
start site "$t/site.conf"
for _ in $(seq 50); do grep -q "bridge-site-a" "$t/central.log" && break; sleep 0.1; done
grep -q "New bridge connected .* as bridge-site-a (p2, c0, .*u'bridge-site-a')" "$t/central.log" \
    || { echo "FAIL: the bridge did not sign in to the central broker:"; tail -n 20 "$t/site.log" "$t/central.log"; exit 1; }
echo "ok: the site's bridge signed in to the central broker with its certificate (user bridge-site-a)"

# The hub subscribes on the central broker; the device listens for its ack on the site broker.
mosquitto_sub -p "$hub_port" -h 127.0.0.1 -u medlink-hub -P "$hubpw" -q 1 -t 'medlink/v1/devices/+/vitals' -v -W 10 -C 1 > "$t/hub.out" &
hubsub=$!
mosquitto_sub -p "$site_tls" -h 127.0.0.1 --cafile "$m/ca.crt" -u w-1 -P "$pw1" -q 1 -t medlink/v1/devices/w-1/ack -W 10 -C 1 > "$t/device.out" &
devsub=$!
sleep 1
mosquitto_pub -p "$site_tls" -h 127.0.0.1 --cafile "$m/ca.crt" -u w-1 -P "$pw1" -q 1 \
    -t medlink/v1/devices/w-2/vitals -m '{"patient":"p-2","seq":1,"time_ms":1,"hr":30}' || true
mosquitto_pub -p "$site_tls" -h 127.0.0.1 --cafile "$m/ca.crt" -u w-1 -P "$pw1" -q 1 \
    -t medlink/v1/devices/w-1/vitals -m '{"patient":"p-1","seq":7,"time_ms":1,"hr":72}'
wait "$hubsub" || { echo "FAIL: the hub's account got no reading through the bridge"; tail -n 20 "$t/central.log"; exit 1; }
grep -q '^medlink/v1/devices/w-1/vitals .*"seq":7' "$t/hub.out" \
    || { echo "FAIL: the first reading through the bridge was not w-1's: $(cat "$t/hub.out")"; exit 1; }
echo "ok: w-1's reading went site -> bridge -> central -> the hub's account; w-2's forged one did not come first: $(cat "$t/hub.out")"
mosquitto_pub -p "$hub_port" -h 127.0.0.1 -u medlink-hub -P "$hubpw" -q 1 -t medlink/v1/devices/w-1/ack -m '{"seqs":[7]}'
wait "$devsub" || { echo "FAIL: the hub's ack did not come back down to the device"; tail -n 20 "$t/site.log"; exit 1; }
echo "ok: the hub's ack on the central broker reached w-1 at the site: $(cat "$t/device.out")"
grep -q "Denied PUBLISH from .*'medlink/v1/devices/w-2/vitals'" "$t/site.log" \
    || { echo "FAIL: the site did not deny w-1's publish on w-2's topic"; tail -n 20 "$t/site.log"; exit 1; }
echo "ok: the site broker denied w-1's publish on w-2's topic"
echo "all mosquitto checks passed"
