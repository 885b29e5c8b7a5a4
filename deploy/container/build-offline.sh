#!/usr/bin/env bash
# build-offline.sh: builds deploy/container/Containerfile where docker.io cannot be reached (as
# on the machine this project is developed on), with podman from Debian: the two base images
# are made locally instead of pulled (docs/deploy.md, "Container"):
#   localhost/debian:bookworm-slim   debootstrap --variant=minbase bookworm from deb.debian.org
#   localhost/rust:1.95-bookworm     that, with gcc/g++ and this machine's Rust toolchain
# then builds a clean export of HEAD (not the working tree) with those as RUST_IMAGE and
# RUNTIME_IMAGE, and runs deploy/container/check-image.sh on the result. Run as root.
# The host's own CAs (/usr/local/share/ca-certificates: a TLS-intercepting proxy's, if any) go
# into the Rust stand-in, so cargo reaches crates.io from inside the build as it does here.
# Not the production path: there, `podman build -f deploy/container/Containerfile .` pulls
# the official images.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
for tool in podman debootstrap rustc; do
    command -v "$tool" >/dev/null || { echo "build-offline.sh: $tool missing (apt-get install podman debootstrap)" >&2; exit 1; }
done
toolchain="$(rustc --print sysroot)"
work="$(mktemp -d /tmp/medlink-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# --isolation chroot: no OCI runtime (crun refuses this container's hybrid cgroups);
# --format docker: the OCI format has no HEALTHCHECK, podman would drop it.
build=(podman build --format docker --isolation chroot --network host)

if ! podman image exists localhost/debian:bookworm-slim; then
    debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" http://deb.debian.org/debian >/dev/null
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
        > "$work/rootfs/etc/apt/sources.list"
    tar -C "$work/rootfs" -c . | podman import - localhost/debian:bookworm-slim >/dev/null
fi
if ! podman image exists localhost/rust:1.95-bookworm; then
    cat > "$work/Containerfile.rust" <<'CF'
FROM localhost/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ make libc6-dev pkg-config binutils ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY toolchain /usr/local/rust/
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
ENV CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && rustc --version && cargo --version
CF
    mkdir -p "$work/rust/ca"
    cp -a "$toolchain" "$work/rust/toolchain"
    cp /usr/local/share/ca-certificates/*.crt "$work/rust/ca/" 2>/dev/null || true
    "${build[@]}" -f "$work/Containerfile.rust" -t localhost/rust:1.95-bookworm "$work/rust"
fi
mkdir "$work/src"
git -C "$root" archive HEAD | tar -x -C "$work/src"
(cd "$work/src" && "${build[@]}" -f deploy/container/Containerfile \
    --build-arg RUST_IMAGE=localhost/rust:1.95-bookworm \
    --build-arg RUNTIME_IMAGE=localhost/debian:bookworm-slim -t localhost/medlink-hub:latest .)
"$here/check-image.sh" localhost/medlink-hub:latest
