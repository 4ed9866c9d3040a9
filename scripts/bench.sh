#!/usr/bin/env bash
# The benchmark report against MLflow, from a fresh machine: builds the
# Python environment (scripts/python-env.sh: the venv at .venv with MLflow,
# numpy, pandas and matplotlib, and tracklite built in release mode), then
# builds the tracklite command in release mode (the export rows run it
# against an MLflow server on PostgreSQL and S3 that the suite starts), then
# runs the suite (python/benchmarks/suite.py), which
# writes BENCHMARKS.md at the repository's root and the chart
# docs/benchmarks.png.
#
# Usage: bash scripts/bench.sh            (about 20 min on 2 cores, plus the build)
#        bash scripts/bench.sh --quick    (about 3 min: 3 repetitions, smaller sizes)
#        bash scripts/bench.sh --only export   (one group; the report keeps the others' rows)
#        other options go to the suite: bash scripts/bench.sh --help
# Environment: TRACKLITE_VENV (the venv's directory; default .venv), and
#              PYTHON, as scripts/python-env.sh reads them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${TRACKLITE_VENV:-.venv}"

# Builds the venv with MLflow, numpy, pandas and matplotlib, and tracklite
# in release mode.
bash scripts/python-env.sh

echo "==> building the tracklite command (release)"
cargo build --release -q -p tracklite-cli

echo "==> running the benchmark suite $*"
exec "$venv/bin/python" python/benchmarks/suite.py --command "bash scripts/bench.sh${*:+ $*}" "$@"
