#!/usr/bin/env bash
# `mlflow server` on a free loopback port, for tests.
#
# Usage:
#   mlflow-server.sh start DIR --backend URI
#       (--artifacts-destination s3://BUCKET/PREFIX | --default-artifact-root URI)
#       [--s3 S3DIR] [--workers N] [--port PORT]
#     prints the server's URL (http://127.0.0.1:PORT)
#   mlflow-server.sh stop DIR
#   mlflow-server.sh kill DIR      (at once, with SIGKILL: a crash, for tests)
#
# --artifacts-destination: the server proxies artifacts (clients see
# mlflow-artifacts: URIs and upload through the server).
# --default-artifact-root: no proxy (--no-serve-artifacts); clients write to
# that root themselves (with s3://, straight to the bucket).
# --s3 S3DIR: the directory given to s3.sh start; its s3.env (endpoint and
# AWS_* credentials of the emulator) is exported to the server. Without it
# the server takes those variables from this environment.
# --workers: the server's worker processes (default 2).
# --port: this port rather than a free one (a restart keeps its URL).
#
# DIR keeps the log (mlflow-server.log), the pid (mlflow-server.pid; the
# server and its workers are one process group, stopped together) and the URL.
# The start waits, with a deadline, until GET /health answers.
#
# MLflow's job runner (a dozen huey processes, for server-side jobs that
# tests here do not use) is off unless MLFLOW_SERVER_ENABLE_JOB_EXECUTION
# says otherwise: it would take a small machine's cores and memory.
#
# Environment: SERVICE_START_TIMEOUT, SERVICE_STOP_TIMEOUT (seconds),
#              MLFLOW_SERVER_ENABLE_JOB_EXECUTION (default false here),
#              MLFLOW_DISABLE_TELEMETRY (default true here).
set -euo pipefail
# shellcheck source=scripts/services/_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

usage() {
    cat >&2 <<USAGE
usage: $(basename "$0") start DIR --backend URI
           (--artifacts-destination s3://BUCKET/PREFIX | --default-artifact-root URI)
           [--s3 S3DIR] [--workers N] [--port PORT]
       $(basename "$0") stop DIR
       $(basename "$0") kill DIR      (SIGKILL, for fault tests)
USAGE
    exit 2
}

start() {
    local dir=$1
    shift
    local backend="" destination="" root="" s3dir="" workers=2 given_port=""
    while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || usage
        case "$1" in
        --backend) backend=$2 ;;
        --artifacts-destination) destination=$2 ;;
        --default-artifact-root) root=$2 ;;
        --s3) s3dir=$2 ;;
        --workers) workers=$2 ;;
        --port) given_port=$2 ;;
        *) usage ;;
        esac
        shift 2
    done
    [ -n "$backend" ] || die "--backend URI is required"
    if [ -n "$destination" ] && [ -n "$root" ]; then
        die "give --artifacts-destination (proxied) or --default-artifact-root (direct), not both"
    fi
    [ -n "$destination$root" ] || die "give --artifacts-destination or --default-artifact-root"
    need mlflow "install it with: pip install mlflow (scripts/python-env.sh does)"
    need curl "install it with: apt-get install curl"
    if [ -n "$s3dir" ]; then
        [ -f "$s3dir/s3.env" ] || die "no $s3dir/s3.env: start the emulator with s3.sh start $s3dir"
        set -a
        # shellcheck source=/dev/null
        . "$s3dir/s3.env"
        set +a
    fi

    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ -f "$dir/mlflow-server.pid" ] && alive "$(cut -d' ' -f1 "$dir/mlflow-server.pid")"; then
        die "a server started from $dir is still running; stop it first"
    fi
    local artifacts=(--artifacts-destination "$destination")
    if [ -n "$root" ]; then
        artifacts=(--default-artifact-root "$root" --no-serve-artifacts)
    fi
    export MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}"
    export MLFLOW_DISABLE_TELEMETRY="${MLFLOW_DISABLE_TELEMETRY:-true}"
    local attempt port url
    for attempt in 1 2 3; do
        # A restart keeps its port, so that clients find it again.
        port="${given_port:-$(free_port)}"
        url="http://127.0.0.1:$port"
        say "starting mlflow server on 127.0.0.1:$port (log: $dir/mlflow-server.log)"
        start_detached "$dir/mlflow-server.pid" "$dir/mlflow-server.log" \
            mlflow server --backend-store-uri "$backend" "${artifacts[@]}" \
            --host 127.0.0.1 --port "$port" --workers "$workers"
        if wait_until "mlflow server" "$STARTED_PID" "$dir/mlflow-server.log" http_ok "$url/health"; then
            break
        fi
        stop_group "$dir/mlflow-server.pid" KILL "mlflow server"
        if ! grep -q "address already in use" "$dir/mlflow-server.log" || [ "$attempt" = 3 ] ||
            [ -n "$given_port" ]; then
            die "mlflow server did not start (log: $dir/mlflow-server.log)"
        fi
        say "port $port was taken meanwhile; trying another"
    done
    echo "$url" | tee "$dir/mlflow-server.url"
}

stop() {
    stop_group "$1/mlflow-server.pid" TERM "mlflow server"
}

[ $# -ge 2 ] || usage
case "$1" in
start)
    dir=$2
    shift 2
    start "$dir" "$@"
    ;;
stop)
    [ $# = 2 ] || usage
    stop "$2"
    ;;
kill)
    [ $# = 2 ] || usage
    stop_group "$2/mlflow-server.pid" KILL "mlflow server"
    ;;
*) usage ;;
esac
