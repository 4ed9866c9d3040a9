#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on a free loopback port, for tests.
#
# Usage: postgres.sh start DIR [--fast]   prints postgresql+psycopg2://postgres@127.0.0.1:PORT/mlflow
#        postgres.sh createdb DIR NAME    makes another database; prints its URL
#        postgres.sh stop DIR             fast shutdown; removes the cluster's data
#
# The server runs as the postgres user (this script runs as root), listens on
# 127.0.0.1 only, with no Unix socket, and trusts every connection from
# 127.0.0.1 (and nothing else). The database `mlflow` is created. DIR keeps
# the log (postgres.log), the pid (postgres.pid), the port and the URL; the
# data directory is DIR/pgdata when the postgres user can write DIR, else a
# fresh directory under ${TMPDIR:-/tmp} (named in DIR/pgdata.path), removed
# by stop. --fast turns off fsync, synchronous_commit and full_page_writes:
# quicker, and still safe for data nobody keeps.
#
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin),
#              SERVICE_START_TIMEOUT, SERVICE_STOP_TIMEOUT (seconds).
set -euo pipefail
# shellcheck source=scripts/services/_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

usage() {
    echo "usage: $(basename "$0") start DIR [--fast] | createdb DIR NAME | stop DIR" >&2
    exit 2
}

# as_postgres COMMAND...: runs COMMAND as the postgres user, from / (the
# caller's working directory may be closed to that user).
as_postgres() {
    (cd / && setpriv --reuid=postgres --regid=postgres --init-groups -- "$@")
}

url_for() {
    echo "postgresql+psycopg2://postgres@127.0.0.1:$1/$2"
}

start() {
    local dir=$1 fast=$2
    [ "$(id -u)" -eq 0 ] || die "run as root: the cluster is started as the postgres user"
    [ -x "$PG_BIN/postgres" ] || die "no PostgreSQL binaries in $PG_BIN (Debian: apt-get install postgresql-15)"
    id postgres >/dev/null 2>&1 || die "there is no postgres user (it comes with the postgresql packages)"
    need setpriv "it comes with util-linux"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ -f "$dir/postgres.pid" ] && [ -n "$(cut -d' ' -f1 "$dir/postgres.pid")" ] &&
        alive "$(cut -d' ' -f1 "$dir/postgres.pid")"; then
        die "a cluster started from $dir is still running; stop it first"
    fi

    local data
    if as_postgres test -w "$dir" -a -x "$dir"; then
        data="$dir/pgdata"
        rm -rf "$data"
        mkdir "$data"
    else
        data="$(mktemp -d "${TMPDIR:-/tmp}/tracklite-pg.XXXXXX")"
        echo "$data" >"$dir/pgdata.path"
    fi
    chown postgres: "$data"
    chmod 700 "$data"

    say "initialising a cluster in $data"
    as_postgres "$PG_BIN/initdb" --pgdata="$data" --username=postgres --encoding=UTF8 \
        --locale=C --auth=reject >"$dir/initdb.log" 2>&1 ||
        { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed (log: $dir/initdb.log)"; }
    # Trust on 127.0.0.1 only: no Unix socket, no other address.
    printf '# tracklite test cluster: loopback TCP only, trusted\nhost all all 127.0.0.1/32 trust\n' \
        >"$data/pg_hba.conf"

    local settings=(-c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=100)
    if [ "$fast" = 1 ]; then
        settings+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    fi
    local attempt port
    for attempt in 1 2 3; do
        port="$(free_port)"
        say "starting PostgreSQL on 127.0.0.1:$port (log: $dir/postgres.log)"
        start_detached "$dir/postgres.pid" "$dir/postgres.log" \
            setpriv --reuid=postgres --regid=postgres --init-groups -- \
            "$PG_BIN/postgres" -D "$data" -p "$port" "${settings[@]}"
        if wait_until PostgreSQL "$STARTED_PID" "$dir/postgres.log" \
            "$PG_BIN/pg_isready" --quiet --host=127.0.0.1 --port="$port" --timeout=2; then
            break
        fi
        stop_group "$dir/postgres.pid" KILL PostgreSQL
        if ! grep -q "could not bind" "$dir/postgres.log" || [ "$attempt" = 3 ]; then
            die "PostgreSQL did not start (log: $dir/postgres.log)"
        fi
        say "port $port was taken meanwhile; trying another"
    done
    echo "$port" >"$dir/postgres.port"
    "$PG_BIN/createdb" --host=127.0.0.1 --port="$port" --username=postgres mlflow ||
        die "could not create the database mlflow"
    url_for "$port" mlflow | tee "$dir/postgres.url"
}

createdb() {
    local dir=$1 name=$2 port
    [ -f "$dir/postgres.port" ] || die "no cluster started from $dir"
    port="$(cat "$dir/postgres.port")"
    "$PG_BIN/createdb" --host=127.0.0.1 --port="$port" --username=postgres "$name" ||
        die "could not create the database $name"
    url_for "$port" "$name"
}

stop() {
    local dir=$1
    # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients
    # (a server's pooled connections) to leave, as SIGTERM's smart one does.
    stop_group "$dir/postgres.pid" INT PostgreSQL
    if [ -f "$dir/pgdata.path" ]; then
        local data
        data="$(cat "$dir/pgdata.path")"
        case "$data" in
        "${TMPDIR:-/tmp}"/tracklite-pg.*) rm -rf "$data" ;;
        *) say "not removing $data: not a directory this script made" ;;
        esac
        rm -f "$dir/pgdata.path"
    elif [ -d "$dir/pgdata" ]; then
        rm -rf "$dir/pgdata"
    fi
    rm -f "$dir/postgres.port"
}

[ $# -ge 2 ] || usage
case "$1" in
start)
    fast=0
    [ $# -le 3 ] || usage
    if [ $# = 3 ]; then
        [ "$3" = --fast ] || usage
        fast=1
    fi
    start "$2" "$fast"
    ;;
createdb)
    [ $# = 3 ] || usage
    createdb "$2" "$3"
    ;;
stop)
    [ $# = 2 ] || usage
    stop "$2"
    ;;
*) usage ;;
esac
