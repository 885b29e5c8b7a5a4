#!/usr/bin/env bash
#: restore.sh: put a backup made by deploy/backup.sh back as a hub's store
#: (docs/deploy.md, "Backup and restore"). The hub must be stopped.
#:
#: usage: deploy/restore.sh BACKUP DB
#:   BACKUP  a directory written by backup.sh (hub.db, hub.alerts.db, SHA256SUMS)
#:   DB      where the hub's database goes (its `--db`); the journal goes beside it
#:           (hub.db -> hub.alerts.db). Existing files there are refused: move them away first
#:           (keep them until the restored hub is known to be good).
set -euo pipefail
# shellcheck source=store-files.sh
source "$(dirname -- "$(realpath -- "$0")")/store-files.sh"
usage_unless 2 "$@"
backup="$1"
db="$2"
need_sqlite3

journal="$(journal_of "$db")"

for f in hub.db hub.alerts.db SHA256SUMS; do
    [[ -f "$backup/$f" ]] || { echo "restore.sh: $backup/$f is missing: not a backup.sh backup" >&2; exit 1; }
done
(cd "$backup" && sha256sum --quiet --strict -c SHA256SUMS) \
    || { echo "restore.sh: $backup does not match its SHA256SUMS: damaged, not restored" >&2; exit 1; }
for f in "$db" "$journal" "$db-wal" "$db-shm" "$journal-wal" "$journal-shm"; do
    [[ ! -e "$f" ]] || { echo "restore.sh: $f exists: stop the hub and move the old store away first" >&2; exit 1; }
done
mkdir -p -- "$(dirname -- "$db")"

# Copy under temporary names and rename, so a hub never sees half a file.
cp -- "$backup/hub.db" "$db.restoring"
cp -- "$backup/hub.alerts.db" "$journal.restoring"
chmod 0600 -- "$db.restoring" "$journal.restoring"
for f in "$db.restoring" "$journal.restoring"; do
    check="$(sqlite3 -bail "$f" "PRAGMA integrity_check")"
    [[ "$check" == "ok" ]] || { rm -f -- "$db.restoring" "$journal.restoring"; echo "restore.sh: $f: $check" >&2; exit 1; }
done
sync -- "$db.restoring" "$journal.restoring"
mv -- "$journal.restoring" "$journal"
mv -- "$db.restoring" "$db"
sync -- "$(dirname -- "$db")"
echo "restored $backup into $db and $journal"
echo "schema versions: database $(sqlite3 "$db" 'PRAGMA user_version'), journal $(sqlite3 "$journal" 'PRAGMA user_version')"
