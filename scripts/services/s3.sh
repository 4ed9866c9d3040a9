#!/usr/bin/env bash
# An S3 emulator (moto's server, the one MLflow's own tests use) on a free
# loopback port, with one bucket, for tests.
#
# Usage: s3.sh start DIR [BUCKET]   prints the endpoint URL (http://127.0.0.1:PORT)
#        s3.sh stop DIR
#
# BUCKET defaults to tracklite-test. DIR keeps the log (s3.log), the pid
# (s3.pid) and s3.env, the variables a client of the emulator needs, in
# `KEY=VALUE` lines a shell can source:
#   MLFLOW_S3_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID,
#   AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, S3_BUCKET.
# The emulator keeps everything in memory: stopping it loses the bucket.
#
# Environment: SERVICE_START_TIMEOUT, SERVICE_STOP_TIMEOUT (seconds).
set -euo pipefail
# shellcheck source=scripts/services/_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

usage() {
    echo "usage: $(basename "$0") start DIR [BUCKET] | stop DIR" >&2
    exit 2
}

start() {
    local dir=$1 bucket=$2
    need moto_server "install it with: pip install 'moto[server]' (scripts/python-env.sh does)"
    need curl "install it with: apt-get install curl"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ -f "$dir/s3.pid" ] && alive "$(cut -d' ' -f1 "$dir/s3.pid")"; then
        die "an emulator started from $dir is still running; stop it first"
    fi
    local attempt port endpoint
    for attempt in 1 2 3; do
        port="$(free_port)"
        endpoint="http://127.0.0.1:$port"
        say "starting moto_server on 127.0.0.1:$port (log: $dir/s3.log)"
        start_detached "$dir/s3.pid" "$dir/s3.log" moto_server -H 127.0.0.1 -p "$port"
        if wait_until moto_server "$STARTED_PID" "$dir/s3.log" http_ok "$endpoint/moto-api/"; then
            break
        fi
        stop_group "$dir/s3.pid" KILL moto_server
        if ! grep -q "Address already in use" "$dir/s3.log" || [ "$attempt" = 3 ]; then
            die "moto_server did not start (log: $dir/s3.log)"
        fi
        say "port $port was taken meanwhile; trying another"
    done
    cat >"$dir/s3.env" <<ENV
MLFLOW_S3_ENDPOINT_URL=$endpoint
AWS_ENDPOINT_URL_S3=$endpoint
AWS_ACCESS_KEY_ID=testing
AWS_SECRET_ACCESS_KEY=testing
AWS_DEFAULT_REGION=us-east-1
S3_BUCKET=$bucket
ENV
    # A signed CreateBucket, as any S3 client sends it.
    "$(python_bin)" - "$endpoint" "$bucket" <<'PY' || die "could not create the bucket $bucket"
import sys

try:
    import boto3
except ImportError:
    sys.exit("boto3 is not installed (pip install boto3; scripts/python-env.sh does)")
endpoint, bucket = sys.argv[1:]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
    region_name="us-east-1",
)
s3.create_bucket(Bucket=bucket)
PY
    say "bucket $bucket created; client variables in $dir/s3.env"
    echo "$endpoint"
}

stop() {
    stop_group "$1/s3.pid" TERM moto_server
}

[ $# -ge 2 ] || usage
case "$1" in
start)
    [ $# -le 3 ] || usage
    start "$2" "${3:-tracklite-test}"
    ;;
stop)
    [ $# = 2 ] || usage
    stop "$2"
    ;;
*) usage ;;
esac
