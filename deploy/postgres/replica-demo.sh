#!/usr/bin/env bash
# replica-demo.sh: a PostgreSQL primary and a streaming replica on loopback, with Debian's
# PostgreSQL 15 binaries, in a temporary directory (docs/deploy.md, "PostgreSQL"). It shows:
#   1. the replica made with pg_basebackup (-R -C -S: a replication slot, standby.signal),
#   2. synchronous replication: the replica is 'sync' in pg_stat_replication, and a row
#      committed on the primary is read on the replica,
#   3. the trade-off: with the only synchronous standby stopped, a COMMIT waits (still waiting
#      after 3 s; then cancelled: PostgreSQL warns it committed locally but may not be replicated),
#   4. the standby back: commits flow again, the replica catches up,
#   5. WAL archiving (a segment in the archive) and pg_dump/pg_restore of the database.
# Runs as the postgres user when started as root (initdb refuses root). Stops both servers and
# removes the directory at the end (KEEP=1 keeps it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
[[ -x "$bin/initdb" ]] || { echo "replica-demo.sh: $bin/initdb missing (apt-get install postgresql-15)" >&2; exit 1; }
if [[ "$(id -u)" -eq 0 ]]; then
    # The demo directory and this script must be readable by postgres.
    copy="$(mktemp -d /tmp/medlink-pg-demo-script.XXXXXX)"
    cp "$here/replica-demo.sh" "$here/primary.conf" "$copy/"
    chown -R postgres: "$copy"
    status=0
    runuser -u postgres -- env PG_BIN="$bin" KEEP="${KEEP:-}" bash "$copy/replica-demo.sh" || status=$?
    rm -rf "$copy"
    exit $status
fi

t="$(mktemp -d /tmp/medlink-pg-demo.XXXXXX)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p1="$(free_port)"; p2="$(free_port)"
cleanup() {
    "$bin/pg_ctl" -D "$t/replica" -m immediate stop >/dev/null 2>&1 || true
    "$bin/pg_ctl" -D "$t/primary" -m immediate stop >/dev/null 2>&1 || true
    if [[ -n "${KEEP:-}" ]]; then echo "kept $t"; else rm -rf "$t"; fi
}
trap cleanup EXIT
say() { printf '%s\n' "$*"; }
sql() { # PORT DB SQL...
    local port="$1" db="$2"; shift 2
    PGPASSFILE="$t/pgpass" "$bin/psql" -X -v ON_ERROR_STOP=1 -Atq -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"
}

# Passwords (scram-sha-256 over TCP, as in production).
umask 077
su_pw="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
repl_pw="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
printf '%s\n' "$su_pw" > "$t/su.pw"
printf '127.0.0.1:*:*:postgres:%s\n127.0.0.1:*:replication:replicator:%s\n' "$su_pw" "$repl_pw" > "$t/pgpass"
mkdir -p "$t/wal-archive"

# 1. The primary: initdb with checksums, deploy/postgres/primary.conf, loopback only.
"$bin/initdb" -D "$t/primary" -U postgres --pwfile="$t/su.pw" --auth-local=scram-sha-256 \
    --auth-host=scram-sha-256 --data-checksums >/dev/null
cp "$here/primary.conf" "$t/primary/medlink-primary.conf"
cat >> "$t/primary/postgresql.conf" <<CONF
include 'medlink-primary.conf'
# The demo's own: loopback, its ports and directories.
listen_addresses = '127.0.0.1'
port = $p1
unix_socket_directories = '$t'
archive_command = 'test ! -f $t/wal-archive/%f && cp %p $t/wal-archive/%f'
CONF
printf 'host replication replicator 127.0.0.1/32 scram-sha-256\n' >> "$t/primary/pg_hba.conf"
"$bin/pg_ctl" -D "$t/primary" -l "$t/primary.log" -w start >/dev/null
# Until the standby exists, commits must not wait for it.
sql "$p1" postgres -c "ALTER SYSTEM SET synchronous_standby_names = ''" -c "SELECT pg_reload_conf()" >/dev/null
sql "$p1" postgres -c "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$repl_pw'"
sql "$p1" postgres -c "CREATE ROLE medlink LOGIN PASSWORD 'demo-only-$RANDOM'" -c "CREATE DATABASE medlink OWNER medlink"
say "primary: PostgreSQL $(sql "$p1" postgres -c 'SHOW server_version') on 127.0.0.1:$p1 (wal_level $(sql "$p1" postgres -c 'SHOW wal_level'), data checksums $(sql "$p1" postgres -c 'SHOW data_checksums'))"

# 2. The replica: a base backup over the replication protocol, with a slot, configured to
#    follow the primary (-R writes primary_conninfo and standby.signal).
PGPASSFILE="$t/pgpass" "$bin/pg_basebackup" -D "$t/replica" -X stream -C -S replica1 -R \
    -d "host=127.0.0.1 port=$p1 user=replicator application_name=replica1" --checkpoint=fast
cat >> "$t/replica/postgresql.conf" <<CONF
port = $p2
unix_socket_directories = '$t'
archive_mode = off
primary_slot_name = 'replica1'
CONF
"$bin/pg_ctl" -D "$t/replica" -l "$t/replica.log" -w start >/dev/null
say "replica: 127.0.0.1:$p2, in recovery: $(sql "$p2" postgres -c 'SELECT pg_is_in_recovery()')"

# Now synchronous, as primary.conf has it.
sql "$p1" postgres -c "ALTER SYSTEM RESET synchronous_standby_names" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 100); do
    state="$(sql "$p1" postgres -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'replica1'")"
    [[ "$state" == "sync" ]] && break
    sleep 0.1
done
[[ "$state" == "sync" ]] || { say "FAIL: the replica is not a synchronous standby (sync_state '$state')"; exit 1; }
say "pg_stat_replication: replica1 $(sql "$p1" postgres -c "SELECT state || ', sync_state ' || sync_state FROM pg_stat_replication WHERE application_name = 'replica1'") (synchronous_standby_names = $(sql "$p1" postgres -c 'SHOW synchronous_standby_names'))"

# A row written on the primary is read on the replica.
sql "$p1" medlink -c "CREATE TABLE demo (id bigint PRIMARY KEY, note text)" \
    -c "INSERT INTO demo VALUES (1, 'written on the primary at ' || now())"
seen=""
for _ in $(seq 100); do
    seen="$(sql "$p2" medlink -c "SELECT note FROM demo WHERE id = 1" 2>/dev/null || true)"
    [[ -n "$seen" ]] && break
    sleep 0.05
done
[[ -n "$seen" ]] || { say "FAIL: the row never reached the replica"; exit 1; }
say "read on the replica: $seen"
if sql "$p2" medlink -c "INSERT INTO demo VALUES (2, 'on the replica')" 2>"$t/err"; then
    say "FAIL: the replica took a write"; exit 1
fi
say "the replica refuses writes: $(head -1 "$t/err")"

# 3. The trade-off: the only synchronous standby stopped, a commit waits for it.
"$bin/pg_ctl" -D "$t/replica" -m fast -w stop >/dev/null
sql "$p1" medlink -c "INSERT INTO demo VALUES (3, 'while the standby is down')" > "$t/wait" 2>&1 &
writer=$!
sleep 3
kill -0 "$writer" 2>/dev/null || { say "FAIL: the commit did not wait for the standby: $(cat "$t/wait")"; exit 1; }
waiting="$(sql "$p1" postgres -c "SELECT pid || ' ' || wait_event FROM pg_stat_activity WHERE wait_event = 'SyncRep'")"
[[ -n "$waiting" ]] || { say "FAIL: no backend waits on SyncRep"; exit 1; }
say "standby stopped: the COMMIT is still waiting after 3 s (pg_stat_activity: backend $waiting)"
sql "$p1" postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'" >/dev/null
wait "$writer" || true
say "cancelled, the client is told: $(grep -m1 -o 'canceling wait for synchronous replication.*' "$t/wait")"
say "  $(grep -m1 -o 'The transaction has already committed locally.*' "$t/wait")"

# 4. The standby back: commits flow again and the replica catches up (row 3 included).
"$bin/pg_ctl" -D "$t/replica" -l "$t/replica.log" -w start >/dev/null
timeout 30 bash -c "until PGPASSFILE='$t/pgpass' '$bin/psql' -X -Atq -h 127.0.0.1 -p $p1 -U postgres -d postgres -c \"SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'\" | grep -q 1; do sleep 0.1; done"
sql "$p1" medlink -c "INSERT INTO demo VALUES (4, 'after the standby came back')"
rows="$(sql "$p2" medlink -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM demo")"
[[ "$rows" == "1,3,4" ]] || { say "FAIL: the replica has rows $rows, not 1,3,4"; exit 1; }
say "standby back: commits return again; the replica has rows $rows"

# 5. WAL archiving and a logical dump.
sql "$p1" postgres -c "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 100); do [[ -n "$(ls "$t/wal-archive")" ]] && break; sleep 0.1; done
[[ -n "$(ls "$t/wal-archive")" ]] || { say "FAIL: no WAL segment archived"; exit 1; }
say "WAL archive: $(ls "$t/wal-archive" | wc -l) segment(s), last $(ls "$t/wal-archive" | tail -1)"
PGPASSFILE="$t/pgpass" "$bin/pg_dump" -h 127.0.0.1 -p "$p1" -U postgres -Fc -f "$t/medlink.dump" medlink
sql "$p1" postgres -c "CREATE DATABASE medlink_restored OWNER medlink"
PGPASSFILE="$t/pgpass" "$bin/pg_restore" -h 127.0.0.1 -p "$p1" -U postgres -d medlink_restored --no-owner "$t/medlink.dump"
restored="$(sql "$p1" medlink_restored -c "SELECT count(*) FROM demo")"
[[ "$restored" == "3" ]] || { say "FAIL: pg_restore gave $restored rows"; exit 1; }
say "pg_dump -Fc / pg_restore: $restored rows in medlink_restored"
say "all PostgreSQL checks passed"
