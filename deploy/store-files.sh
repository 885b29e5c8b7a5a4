# store-files.sh: what backup.sh and restore.sh share about the hub's SQLite store (sourced,
# not run; install it beside them).

# Prints the calling script's `#:` header and exits 2 unless it got exactly $1 arguments.
usage_unless() { # COUNT "$@"
    local want="$1"
    shift
    if [[ $# -ne "$want" ]]; then
        sed -n 's/^#: \{0,1\}//p' "$0" >&2
        exit 2
    fi
}

# Stops the calling script unless the sqlite3 shell is installed.
need_sqlite3() {
    command -v sqlite3 >/dev/null \
        || { echo "$(basename "$0"): sqlite3 is missing (apt-get install sqlite3)" >&2; exit 1; }
}

# The alert journal beside the database $1, named as the hub names it
# (Path::with_extension("alerts.db"): hub.db -> hub.alerts.db, ward -> ward.alerts.db).
journal_of() {
    local dir base
    dir="$(dirname -- "$1")"
    base="$(basename -- "$1")"
    if [[ "$base" == ?*.* ]]; then base="${base%.*}"; fi
    printf '%s/%s.alerts.db\n' "$dir" "$base"
}
