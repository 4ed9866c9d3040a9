#!/usr/bin/env bash
# Every test, for a fresh machine and for CI (.ci/run calls this script):
# formatting, lints, API docs, then the whole Rust test suite in release
# mode (the crash and concurrency tests spawn many processes and are much
# faster optimised). Every stage runs even when an earlier one fails; a summary
# at the end lists each stage, and the exit status is non-zero when any
# stage failed.
#
# Usage: bash scripts/test.sh        (from any directory)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

names=()
results=()
failed=0

# stage NAME COMMAND...: runs COMMAND and records whether it passed.
stage() {
    local name=$1
    shift
    printf '\n==> %s: %s\n' "$name" "$*"
    local start=$SECONDS
    if "$@"; then
        results+=("PASS  $name  ($((SECONDS - start))s)")
    else
        results+=("FAIL  $name  ($((SECONDS - start))s): $*")
        failed=1
    fi
    names+=("$name")
}

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed; get the Rust toolchain from https://rustup.rs" >&2
    exit 1
fi
if ! cargo fmt --version >/dev/null 2>&1; then
    echo "error: cargo fmt is missing; install it with: rustup component add rustfmt" >&2
    exit 1
fi
if ! cargo clippy --version >/dev/null 2>&1; then
    echo "error: cargo clippy is missing; install it with: rustup component add clippy" >&2
    exit 1
fi

# ---------------------------------------------------------------------------
# Rust
# ---------------------------------------------------------------------------
stage "rust format" cargo fmt --all -- --check
stage "rust lints" cargo clippy --workspace --all-targets -- -D warnings
# The core crate without its optional parts (the mlruns importer) builds
# and stays warning-free.
stage "rust lints (no default features)" cargo clippy -p tracklite --no-default-features -- -D warnings
# Broken or private intra-doc links, and (in the core crate) undocumented
# public items, fail the build of the API docs.
stage "rust docs" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
# The publishable crates package (metadata, readme, license, each one's
# files); the build from the packaged files is left to a release.
stage "crate packaging" cargo package -p tracklite -p tracklite-export -p tracklite-ui -p tracklite-cli \
    --no-verify --allow-dirty --quiet
stage "rust tests" cargo test --workspace --release
# The stages below name test files with --workspace rather than -p: features
# are then unified as in "rust tests", so the libraries are not compiled a
# second time with another feature set.
#
# The fault-injection family, by name, with their output: crashes, full
# disks (a small tmpfs; skipped with a message when not root), deleted and
# replaced files, damaged bytes, races and fork. They ran above too; this
# stage shows what each injects and any skip.
stage "fault injection" cargo test --release --workspace \
    --test fork_safety --test read_only --test missing_log \
    --test allocator_damage --test batch_atomicity --test search_infinity \
    --test index_damage --test artifact_races --test artifact_leftovers --test forecast \
    --test corruption --test crash_consistency --test concurrency \
    -- --nocapture
stage "fault injection (cli)" cargo test --release --workspace \
    --test permissions --test gc_leftovers -- --nocapture

# ---------------------------------------------------------------------------
# Python
# ---------------------------------------------------------------------------
# The package is built from this checkout as a wheel (target/wheels) and
# installed into .venv (made when missing); the stub test in python/tests
# checks _native.pyi against the built module, and test_wheel_install.py
# installs the same wheel into a fresh venv with no Rust on PATH.
stage "python env" bash scripts/python-env.sh
# The export against a real `mlflow server` (started by the tests on a
# loopback port; for artifacts and --check, with moto's S3 server too; over
# TLS with MLflow's basic-auth app); in "rust tests"
# above they skip while .venv is missing.
stage "export (mlflow server)" cargo test --release --workspace \
    --test export_mlflow --test export_artifacts --test export_registry --test export_watch \
    --test export_tls --test export_check \
    -- --nocapture --test-threads 1
# Headless Chromium (Debian's) and playwright, for the MLflow UI test.
stage "ui env" bash scripts/ui-env.sh
# PostgreSQL 15, curl and setpriv, for the tests that start a throwaway
# PostgreSQL cluster, moto's S3 emulator and MLflow servers (python/tests/services).
stage "services env" bash scripts/services-env.sh
stage "python lints" .venv/bin/ruff check python
stage "python format" .venv/bin/ruff format --check python
# mypy's configuration: [tool.mypy] in pyproject.toml.
stage "python types" .venv/bin/mypy python/tracklite
stage "python tests" .venv/bin/pytest python/tests -q -p no:cacheprovider

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
printf '\n==> summary\n'
for r in "${results[@]}"; do
    echo "  $r"
done
if [ "$failed" -ne 0 ]; then
    echo "FAILED: at least one stage failed (see its output above)"
    exit 1
fi
echo "ALL PASSED: ${#names[@]} stages"
