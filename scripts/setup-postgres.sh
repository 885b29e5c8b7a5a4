#!/usr/bin/env bash
# Makes a PostgreSQL available on loopback for the store's tests, the hub's PostgreSQL tests and
# `medlink bench hub --db postgres://...`, and writes how to reach it:
#   target/pg/url       postgres://USER@127.0.0.1:PORT/medlink (no password in it)
#   target/pg/password  the password (mode 600)
# In order:
#   1. MEDLINK_PG_URL set (and its password in MEDLINK_PG_PASSWORD_FILE, PGPASSWORD or ~/.pgpass)
#      and it answers: use it.
#   2. The URL and password written by an earlier run still answer: reuse them.
#   3. Otherwise install Debian's postgresql if missing (apt-get), and run a cluster of our own:
#      initdb into target/pg/data (as the postgres user when run as root: initdb refuses root),
#      listening on 127.0.0.1 only, on a free port, scram-sha-256 password authentication with
#      a generated password, TLS on with a server certificate for 127.0.0.1/localhost from a
#      CA of its own (target/pg/ca.crt, for postgres://...?sslmode=verify-full&sslrootcert=...);
#      started with pg_ctl (again if it was stopped). Idempotent.
# Stop the own cluster with: runuser -u postgres -- pg_ctl -D target/pg/data stop (or without
# runuser when not root).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$PWD/target/pg"
data="$dir/data"
url_file="$dir/url"
password_file="$dir/password"
mkdir -p "$dir"

answers() { # URL PASSWORD: whether the server takes them
  PGPASSWORD="$2" PGCONNECT_TIMEOUT=5 psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1
}

write_access() { # URL PASSWORD
  printf '%s\n' "$1" >"$url_file"
  (umask 077 && printf '%s\n' "$2" >"$password_file")
}

have_client() { command -v psql >/dev/null 2>&1; }

install_postgresql() {
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "need root or sudo to install postgresql" >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing postgresql"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql
  # Debian starts a cluster of its own on 5432; ours has its own port, so leave 5432 alone
  # but do not keep a second server running for nothing.
  if command -v systemctl >/dev/null 2>&1; then $sudo systemctl disable --now postgresql >/dev/null 2>&1 || true; fi
}

bindir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}

# 1. A server named by the environment.
if [ -n "${MEDLINK_PG_URL:-}" ]; then
  have_client || install_postgresql
  password="${PGPASSWORD:-}"
  if [ -n "${MEDLINK_PG_PASSWORD_FILE:-}" ]; then password=$(head -n1 "$MEDLINK_PG_PASSWORD_FILE"); fi
  if answers "$MEDLINK_PG_URL" "$password"; then
    write_access "$MEDLINK_PG_URL" "$password"
    echo "PostgreSQL from MEDLINK_PG_URL answers: $MEDLINK_PG_URL"
    exit 0
  fi
  echo "MEDLINK_PG_URL=$MEDLINK_PG_URL does not answer with the password given; starting our own" >&2
fi

# 2. What an earlier run wrote (a server not ours: ours goes on to 3, which also makes sure it
#    speaks TLS).
if [ ! -s "$data/PG_VERSION" ] && [ -s "$url_file" ] && [ -s "$password_file" ] && have_client \
  && answers "$(cat "$url_file")" "$(head -n1 "$password_file")"; then
  echo "PostgreSQL already running: $(cat "$url_file")"
  exit 0
fi

# 3. Our own cluster.
bin=$(bindir) || true
if [ -z "$bin" ] || ! have_client; then
  install_postgresql
  bin=$(bindir)
fi
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  as_owner=(runuser -u postgres --)
fi
user=medlink
if [ ! -s "$data/PG_VERSION" ]; then
  rm -rf "$data"
  password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (umask 077 && printf '%s\n' "$password" >"$dir/initdb.pw")
  mkdir -p "$data"
  if [ ${#as_owner[@]} -gt 0 ]; then chown postgres "$dir" "$data" "$dir/initdb.pw"; fi
  "${as_owner[@]}" "$bin/initdb" -D "$data" -U "$user" --pwfile="$dir/initdb.pw" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
  rm -f "$dir/initdb.pw"
  cat >>"$data/postgresql.conf" <<EOF
# medlink test cluster (scripts/setup-postgres.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
EOF
  write_access "postgres://$user@127.0.0.1:$port/medlink" "$password"
fi
if [ ! -s "$data/server.crt" ] || [ ! -s "$dir/ca.crt" ]; then
  # TLS: a CA of the test cluster's own and a server certificate for loopback.
  if ! command -v openssl >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends openssl
  fi
  tls="$dir/tls"
  rm -rf "$tls" && mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=medlink test PostgreSQL CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 3650 -extfile "$tls/ext" -out "$tls/server.crt" 2>/dev/null
  install -m 600 "$tls/server.crt" "$data/server.crt"
  install -m 600 "$tls/server.key" "$data/server.key"
  if [ ${#as_owner[@]} -gt 0 ]; then chown postgres "$data/server.crt" "$data/server.key"; fi
  grep -q '^ssl = on' "$data/postgresql.conf" || printf 'ssl = on\n' >>"$data/postgresql.conf"
  cp "$tls/ca.crt" "$dir/ca.crt"
  rm -f "$tls/ca.key"
  if "${as_owner[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    "${as_owner[@]}" "$bin/pg_ctl" -D "$data" reload >/dev/null
  fi
fi
port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$data/postgresql.conf" | tail -1)
password=$(head -n1 "$password_file")
if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  "${as_owner[@]}" "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null
fi
if ! PGPASSWORD="$password" psql -h 127.0.0.1 -p "$port" -U "$user" -d postgres -Atqc \
  "SELECT 1 FROM pg_database WHERE datname = 'medlink'" | grep -q 1; then
  PGPASSWORD="$password" psql -h 127.0.0.1 -p "$port" -U "$user" -d postgres -qc 'CREATE DATABASE medlink'
fi
write_access "postgres://$user@127.0.0.1:$port/medlink" "$password"
answers "$(cat "$url_file")" "$password"
echo "PostgreSQL running: $(cat "$url_file") (data in $data, log in $dir/server.log)"
