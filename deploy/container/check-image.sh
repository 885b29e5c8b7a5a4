#!/usr/bin/env bash
# check-image.sh IMAGE: checks a built medlink hub image (docs/deploy.md, "Container"):
#  1. its configuration: non-root user, the health check, entry point, ports, volume, size;
#  2. its file system, run without a container runtime (this machine's crun refuses its hybrid
#     cgroups): the image is exported, and the CMD runs in a chroot of it, as the image's user,
#     in a network and mount namespace of its own, with a certificate in /run/secrets; then the
#     HEALTHCHECK command runs in the same chroot and must pass. That proves the image holds
#     everything the hub and its health check need, as an unprivileged user; not the isolation.
# Run as root (chroot, unshare). Needs podman and a medlink binary for the certificate.
set -euo pipefail
image="${1:?usage: check-image.sh IMAGE}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
medlink="${MEDLINK_BIN:-$root/target/release/medlink}"
fail() { echo "FAIL: $*"; exit 1; }
conf() { podman image inspect "$image" --format "$1"; }

user="$(conf '{{.Config.User}}')"
[[ -n "$user" && "$user" != root && "$user" != 0* ]] || fail "the image runs as '$user'"
health="$(conf '{{json .Config.Healthcheck.Test}}')"
[[ "$health" == *"/health"* ]] || fail "no health check on /health: $health"
echo "ok: user $user; entrypoint $(conf '{{json .Config.Entrypoint}}'); ports $(conf '{{json .Config.ExposedPorts}}'); volumes $(conf '{{json .Config.Volumes}}')"
echo "ok: health check $health"
echo "ok: image size $(( $(conf '{{.Size}}') / 1000000 )) MB"

t="$(mktemp -d)"
container=""
cleanup() { [[ -n "$container" ]] && podman rm -f "$container" >/dev/null 2>&1; rm -rf "$t"; }
trap cleanup EXIT
container="$(podman create "$image")"
mkdir "$t/rootfs"
podman export "$container" | tar -x -C "$t/rootfs"
"$medlink" pki init --dir "$t/pki" >/dev/null 2>&1
"$medlink" pki issue --dir "$t/pki" --role station --name "ward hub" --station-name hub.ward.example --out "$t/hub" >/dev/null 2>&1
mkdir -p "$t/rootfs/run/secrets"
cp "$t/hub/ward-hub.crt" "$t/rootfs/run/secrets/tls.crt"; cp "$t/hub/ward-hub.key" "$t/rootfs/run/secrets/tls.key"
uid="$(chroot "$t/rootfs" id -u "${user%%:*}")"
chown -R "$uid" "$t/rootfs/run/secrets" "$t/rootfs/var/lib/medlink"
mapfile -t cmd < <(conf '{{range .Config.Entrypoint}}{{println .}}{{end}}{{range .Config.Cmd}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t check < <(conf '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' | sed '/^$/d')
[[ "${check[0]}" == CMD ]] && check=("${check[@]:1}")
workdir="$(conf '{{.Config.WorkingDir}}')"
printf '%q ' "${cmd[@]}" > "$t/cmd"; printf '%q ' "${check[@]}" > "$t/check"
unshare --net --mount --fork bash -s "$t" "$user" "$workdir" <<'INNER'
set -euo pipefail
t="$1"; user="$2"; workdir="$3"
ip link set lo up
mount -t proc proc "$t/rootfs/proc"
mount --rbind /dev "$t/rootfs/dev"
chroot --userspec="$user" "$t/rootfs" sh -c "cd $workdir && exec $(cat "$t/cmd")" > "$t/hub.log" 2>&1 &
hub=$!
ok=""
for _ in $(seq 100); do
    if chroot --userspec="$user" "$t/rootfs" sh -c "$(cat "$t/check")" 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
kill "$hub" 2>/dev/null || true
[[ -n "$ok" ]] || { cat "$t/hub.log"; echo "FAIL: the HEALTHCHECK command never passed"; exit 1; }
echo "ok: the image's CMD ($(cat "$t/cmd" | cut -c1-60)...) runs as $user in a chroot of the image; its HEALTHCHECK passes"
ls "$t/rootfs/var/lib/medlink" | grep -q '^hub.db$' || { echo "FAIL: no hub.db on the volume"; exit 1; }
echo "ok: the store is on the volume: $(ls "$t/rootfs/var/lib/medlink" | tr '\n' ' ')"
INNER
echo "all image checks passed"
