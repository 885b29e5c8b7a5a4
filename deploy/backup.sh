#!/usr/bin/env bash
#: backup.sh: an online backup of a medlink hub's SQLite store while the hub runs
#: (docs/deploy.md, "Backup and restore").
#:
#: usage: deploy/backup.sh [--keep N] DB DEST
#:   DB    the hub's database (`--db`, e.g. /var/lib/medlink/hub/hub.db); its alert journal
#:         beside it (hub.db -> hub.alerts.db: alerts, accounts, sessions, tokens, the audit
#:         trail) is backed up with it
#:   DEST  a directory; each run writes DEST/hub-YYYYmmddTHHMMSSZ/ with hub.db,
#:         hub.alerts.db and MANIFEST (schema versions, row counts, sha256 of both files)
#:   --keep N  afterwards delete all but the newest N backups in DEST (default: keep all)
#: Prints the new backup's directory on its last line.
#:
#: Each database is copied with `VACUUM INTO` inside one read transaction: a consistent
#: snapshot that never blocks the hub's writers (WAL) and, unlike `.backup`, is not restarted
#: by every commit the hub makes meanwhile. The measurements database is copied first, then
#: the journal, so every audit row of a change in the copied data is in the copied trail.
set -euo pipefail
# shellcheck source=store-files.sh
source "$(dirname -- "$(realpath -- "$0")")/store-files.sh"

keep=0
if [[ "${1:-}" == "--keep" ]]; then
    keep="${2:?--keep needs a number}"
    [[ "$keep" =~ ^[0-9]+$ ]] || { echo "backup.sh: --keep needs a number, not $keep" >&2; exit 2; }
    shift 2
fi
usage_unless 2 "$@"
db="$1"
dest="$2"

need_sqlite3
command -v sha256sum >/dev/null || { echo "backup.sh: sha256sum is missing" >&2; exit 1; }

journal="$(journal_of "$db")"
for f in "$db" "$journal"; do
    [[ -f "$f" ]] || { echo "backup.sh: $f does not exist (is $db the hub's --db?)" >&2; exit 1; }
done

# SQL string literal: single quotes doubled.
sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p -- "$dest"
final="$dest/hub-$stamp"
[[ ! -e "$final" ]] || { echo "backup.sh: $final exists already (two backups in one second?)" >&2; exit 1; }
partial="$dest/.hub-$stamp.partial"
rm -rf -- "$partial"
mkdir -m 0700 -- "$partial"
trap 'rm -rf -- "$partial"' EXIT

copy() {
    local src="$1" out="$2"
    # -bail: stop at the first error; a busy timeout in case a checkpoint holds a lock briefly.
    sqlite3 -bail "$src" ".timeout 30000" "VACUUM INTO $(sql_quote "$out")"
    local check
    check="$(sqlite3 -bail "$out" "PRAGMA integrity_check")"
    [[ "$check" == "ok" ]] || { echo "backup.sh: the copy of $src fails its integrity check: $check" >&2; exit 1; }
}
copy "$db" "$partial/hub.db"
copy "$journal" "$partial/hub.alerts.db"

count() { sqlite3 -bail "$1" "SELECT count(*) FROM $2" 2>/dev/null || echo "?"; }
{
    echo "source_db=$db"
    echo "source_journal=$journal"
    echo "taken_utc=$stamp"
    echo "db_schema_version=$(sqlite3 -bail "$partial/hub.db" "PRAGMA user_version")"
    echo "journal_schema_version=$(sqlite3 -bail "$partial/hub.alerts.db" "PRAGMA user_version")"
    echo "measurements=$(count "$partial/hub.db" measurements)"
    echo "alerts=$(count "$partial/hub.alerts.db" alerts)"
    echo "audit_rows=$(count "$partial/hub.alerts.db" audit)"
    echo "audit_last_hash=$(sqlite3 -bail "$partial/hub.alerts.db" "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1" 2>/dev/null || true)"
} > "$partial/MANIFEST"
(cd "$partial" && sha256sum hub.db hub.alerts.db > SHA256SUMS)
chmod 0600 "$partial"/*
sync -- "$partial"/* "$partial"
mv -- "$partial" "$final"
trap - EXIT
sync -- "$dest"

if (( keep > 0 )); then
    # Backup names sort by time; delete the oldest beyond the newest $keep.
    mapfile -t all < <(find "$dest" -maxdepth 1 -type d -name 'hub-*Z' -printf '%f\n' | sort)
    for (( i = 0; i + keep < ${#all[@]}; i++ )); do
        rm -rf -- "${dest:?}/${all[i]}"
    done
fi
echo "$final"
