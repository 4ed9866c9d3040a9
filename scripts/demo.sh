#!/usr/bin/env bash
# The main job, on a fresh machine: build tracklite in release mode, record
# three small training runs (examples/train.rs, a neural network trained on
# two interleaving moons) into ./demo-store, then one more from Python
# (python/examples/train_numpy.py: plain MLflow code with
# `import tracklite as mlflow`), and show them with the `tracklite`
# command-line tool: the run table, one run in detail, and a check of the
# store.
#
# Usage: bash scripts/demo.sh        (from any directory)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
target="${CARGO_TARGET_DIR:-target}"
store=demo-store

step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed; get the Rust toolchain from https://rustup.rs" >&2
    exit 1
fi

step "building the workspace in release mode"
# One invocation for the libraries, the `tracklite` binary and the example,
# so that they share one build of the core crate.
cargo build --release --workspace --lib --bins --examples

tracklite="$target/release/tracklite"
train="$target/release/examples/train"

step "recording training runs into $root/$store"
rm -rf "$store"
run_ids=()
for settings in "" "--hidden 4 --lr 0.2" "--hidden 32 --lr 2"; do
    # $settings is split into arguments on purpose.
    # shellcheck disable=SC2086
    line=$("$train" --store "$store" --steps 300 --seed 42 $settings)
    echo "$line"
    run_ids+=("$(echo "$line" | awk '{print $2}')")
done

step "building the Python package into .venv"
bash scripts/python-env.sh

step "recording a training run from Python (import tracklite as mlflow)"
.venv/bin/python python/examples/train_numpy.py --store "$store"

step "$tracklite --store $store runs"
"$tracklite" --store "$store" runs --experiment demo
"$tracklite" --store "$store" runs --experiment demo-python

step "$tracklite --store $store run ${run_ids[0]}"
"$tracklite" --store "$store" run "${run_ids[0]}"

step "$tracklite --store $store check"
"$tracklite" --store "$store" check

step "done"
echo "The store is $root/$store. Look further with, for example:"
echo "  $tracklite --store $store history ${run_ids[0]} val_accuracy"
echo "  $tracklite --store $store runs --json"
