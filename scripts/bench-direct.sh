#!/usr/bin/env bash
# The direct mode's speed against a bare binary COPY of the same rows into a
# scratch copy of MLflow's `metrics` table, in the same run: starts a
# throwaway PostgreSQL 15 cluster (scripts/services/postgres.sh), makes
# MLflow 3.17's schema with `mlflow db upgrade` (from .venv), runs the
# ignored test crates/tracklite-export/tests/direct_bench.rs and stops the
# cluster. Prints each round and the medians.
#
# Usage: bash scripts/bench-direct.sh      (as root, like the service tests)
# Environment: TRACKLITE_BENCH_RUNS (20), TRACKLITE_BENCH_POINTS (10000),
#              TRACKLITE_BENCH_ROUNDS (3); VENV (default .venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="${VENV:-.venv}"
[ -x "$venv/bin/mlflow" ] || { echo "error: no mlflow in $venv (bash scripts/python-env.sh)" >&2; exit 1; }
export TRACKLITE_VENV="$(cd "$venv" && pwd)"
export PATH="$TRACKLITE_VENV/bin:$PATH"

dir="$(mktemp -d "${TMPDIR:-/tmp}/tracklite-bench-direct.XXXXXX")"
chmod 755 "$dir"
cleanup() {
    bash scripts/services/postgres.sh stop "$dir/pg" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

bash scripts/services/postgres.sh start "$dir/pg" >/dev/null
url="$(bash scripts/services/postgres.sh createdb "$dir/pg" bench_direct)"
"$TRACKLITE_VENV/bin/mlflow" db upgrade "$url" >/dev/null 2>&1
TRACKLITE_BENCH_PG="$url" cargo test --release -p tracklite-export --test direct_bench -- \
    --ignored --nocapture
