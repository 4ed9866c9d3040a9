#!/usr/bin/env bash
# The Python environment of this checkout, made or brought up to date:
# a virtual environment at .venv (created when missing), the build and test
# tools in it (maturin, numpy, pytest, pandas, ruff, mypy, mlflow and
# scikit-learn for the MLflow plugin's tests, matplotlib for the benchmark
# report, psycopg2-binary, boto3 and moto's S3 server for the tests that
# start a PostgreSQL-backed MLflow server with S3 artifacts (scripts/services),
# Flask-WTF for MLflow's basic-auth app (the export's TLS and auth test);
# psutil for system metrics; nbclient, nbformat and ipykernel to run the
# example notebook in the tests; installed only when missing),
# and the tracklite package built from this checkout in release mode as a
# wheel into target/wheels, and that wheel installed into the venv, as pip
# would install it from the package index (not editable: after changing
# python/tracklite, run this script again; it takes seconds when no Rust
# changed). python/tests/test_wheel_install.py installs the same wheel into
# a fresh venv with no Rust on PATH. Running it again only rebuilds what
# changed.
#
# The wheel is linked against this machine's glibc (its manylinux tag says
# which); the release wheels, manylinux2014 through zig, are
# scripts/release.sh's. Those compile every dependency a second time (for an
# explicit --target), which this script leaves out to keep CI's build to
# the one compile that `cargo test --release` shares.
#
# Usage: bash scripts/python-env.sh        (from any directory)
#   then: .venv/bin/python, .venv/bin/pytest python/tests -q
# Environment: PYTHON (the interpreter that makes the venv; default python3),
#              TRACKLITE_VENV (the venv's directory; default .venv),
#              TRACKLITE_WHEEL_DIR (where the wheel goes; default target/wheels).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${TRACKLITE_VENV:-.venv}"
wheels="${TRACKLITE_WHEEL_DIR:-target/wheels}"
python="${PYTHON:-python3}"

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed; get the Rust toolchain from https://rustup.rs" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating the virtual environment $venv"
    "$python" -m venv "$venv"
fi

# The MLflow release the plugin, the direct export (which writes MLflow's
# PostgreSQL schema of this release, and refuses another) and the tests of
# MLflow's own UI are checked against; a newer release is taken on
# deliberately, by changing this line and what it checks.
mlflow_pin="mlflow==3.17.2"

# Tools, as "package:module" (the module tells whether it is installed; a
# package pinned with == must also be at that version).
# moto_server (the S3 emulator) needs moto's "server" extra; flask_cors, which
# moto_server imports and moto alone does not bring, tells that it is there.
installed() {
    "$venv/bin/python" -c '
import importlib.metadata
import importlib.util
import sys

package, module = sys.argv[1], sys.argv[2]
if importlib.util.find_spec(module) is None:
    sys.exit(1)
if "==" in package:
    name, version = package.split("==")
    try:
        sys.exit(importlib.metadata.version(name) != version)
    except importlib.metadata.PackageNotFoundError:
        sys.exit(1)
' "$1" "$2"
}
missing=()
for tool in maturin numpy pytest pandas ruff mypy "$mlflow_pin:mlflow" scikit-learn:sklearn \
    matplotlib psycopg2-binary:psycopg2 boto3 "moto[server]:moto" "moto[server]:flask_cors" \
    flask-wtf:flask_wtf psutil nbclient nbformat ipykernel; do
    package="${tool%%:*}"
    module="${tool##*:}"
    if ! installed "$package" "$module"; then
        case " ${missing[*]-} " in
        *" $package "*) ;;
        *) missing+=("$package") ;;
        esac
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "${missing[@]}"
fi

# On Python 3.10 and later, the wheel pip would pick there: built for 3.10's
# stable ABI (see the features of crates/tracklite-py/Cargo.toml).
features=()
if "$venv/bin/python" -c "import sys; sys.exit(sys.version_info < (3, 10))"; then
    features=(--no-default-features --features abi3-py310)
fi
echo "==> building the tracklite wheel into $wheels (release${features[*]:+, ${features[*]}})"
# Only this build's wheel stays there, for the fresh-venv test to find.
mkdir -p "$wheels"
rm -f "$wheels"/tracklite-*.whl
"$venv/bin/maturin" build --release --quiet --interpreter "$venv/bin/python" "${features[@]}" \
    --out "$wheels"
wheel=$(ls "$wheels"/tracklite-*.whl)
echo "==> installing $wheel into $venv"
# A leftover of the editable install this script used to make would shadow
# the wheel's native module for anyone importing from python/.
rm -f python/tracklite/_native*.so
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
    --force-reinstall --no-deps "$wheel"

"$venv/bin/python" -c "import tracklite._native as n; print('tracklite', n.__version__, 'ready in $venv')"
