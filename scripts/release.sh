#!/usr/bin/env bash
# Builds every release artifact of the Python package into dist/ and checks
# each one, then lists what it made:
#   - wheels for Linux x86_64 and aarch64, manylinux2014 (glibc 2.17 or
#     newer), linked by zig against glibc 2.17's symbols: one for CPython
#     3.9 and later (stable ABI 3.9) and one for 3.10 and later (stable ABI
#     3.10, faster calls; pip prefers it where it runs), per architecture;
#   - the source distribution (sdist).
# Checks: auditwheel confirms each wheel's manylinux_2_17 tag (no library
# outside the policy, no newer glibc symbol); `twine check --strict` reads
# every artifact's metadata as the package index would; the sdist holds
# what a build needs (pyproject.toml, the build backend, Cargo.lock, every
# crate the binding crate depends on, the package's sources, the readme and
# license), and `cargo check --locked --offline` passes on it unpacked; one
# x86_64 wheel is installed into a scratch venv and imported.
#
# The tools (maturin, ziglang, auditwheel, twine) go into a venv of their
# own, made by this script. Needs the Rust toolchain (rustup) and Python 3.
# aarch64 needs rustup's aarch64-unknown-linux-gnu standard library, which
# the script adds with `rustup target add`; where rustup cannot download it,
# set TRACKLITE_RELEASE_ARCHS=x86_64 and the release has x86_64 wheels only.
#
# Usage: bash scripts/release.sh        (from any directory)
# Environment: PYTHON (default python3),
#              TRACKLITE_RELEASE_ARCHS (default "x86_64 aarch64"),
#              TRACKLITE_RELEASE_VENV (the tools' venv; default target/release-tools).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="${PYTHON:-python3}"
tools="${TRACKLITE_RELEASE_VENV:-target/release-tools}"
archs="${TRACKLITE_RELEASE_ARCHS:-x86_64 aarch64}"
dist=dist

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed; get the Rust toolchain from https://rustup.rs" >&2
    exit 1
fi

if [ ! -x "$tools/bin/python" ]; then
    echo "==> creating the tools' virtual environment $tools"
    "$python" -m venv "$tools"
fi
echo "==> installing maturin, ziglang, auditwheel and twine into $tools"
"$tools/bin/python" -m pip install --disable-pip-version-check --quiet \
    "maturin>=1.9.4,<2" ziglang auditwheel twine
export PATH="$PWD/$tools/bin:$PATH"

rm -rf "$dist"
mkdir -p "$dist"

for arch in $archs; do
    target="$arch-unknown-linux-gnu"
    if ! rustup target list --installed | grep -qx "$target"; then
        echo "==> adding the Rust standard library for $target"
        if ! rustup target add "$target"; then
            echo "error: rustup could not add $target; build without it:" \
                "TRACKLITE_RELEASE_ARCHS=x86_64 bash scripts/release.sh" >&2
            exit 1
        fi
    fi
    for abi in abi3-py39 abi3-py310; do
        echo "==> building the $arch wheel ($abi, manylinux2014, zig)"
        maturin build --release --quiet --strip --zig --target "$target" \
            --compatibility manylinux2014 --auditwheel check \
            --no-default-features --features "$abi" --out "$dist"
    done
done

echo "==> building the sdist"
maturin sdist --out "$dist"

echo "==> checking the wheels with auditwheel"
for wheel in "$dist"/*.whl; do
    report=$(auditwheel show "$wheel")
    echo "$report"
    # auditwheel names the tag the wheel's symbols and libraries allow.
    if ! grep -q 'manylinux_2_17_' <<<"$report"; then
        echo "error: $wheel is not consistent with manylinux_2_17 (manylinux2014)" >&2
        exit 1
    fi
done

echo "==> twine check --strict"
twine check --strict "$dist"/*

echo "==> checking the sdist's contents"
sdist=$(ls "$dist"/tracklite-*.tar.gz)
listing=$(tar -tzf "$sdist")
top=$(head -n1 <<<"$listing" | cut -d/ -f1)
for needed in pyproject.toml Cargo.toml Cargo.lock LICENSE python/README.md \
    python/build_backend/tracklite_build.py python/tracklite/__init__.py \
    python/tracklite/_native.pyi python/tracklite/py.typed \
    crates/tracklite/Cargo.toml crates/tracklite/src/lib.rs \
    crates/tracklite-export/Cargo.toml crates/tracklite-export/src/lib.rs \
    crates/tracklite-ui/Cargo.toml crates/tracklite-ui/src/lib.rs crates/tracklite-ui/build.rs \
    crates/tracklite-cli/Cargo.toml crates/tracklite-cli/src/lib.rs \
    crates/tracklite-py/Cargo.toml crates/tracklite-py/src/lib.rs; do
    if ! grep -qx "$top/$needed" <<<"$listing"; then
        echo "error: the sdist $sdist lacks $needed" >&2
        exit 1
    fi
done
# Its crates resolve with its own lockfile and type-check, offline (the
# dependencies are in cargo's cache from the builds above; the checks
# share this checkout's target folder).
unpacked=$(mktemp -d)
tar -xzf "$sdist" -C "$unpacked"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" cargo check --quiet --locked --offline \
    --manifest-path "$unpacked/$top/crates/tracklite-py/Cargo.toml"
rm -rf "$unpacked"
echo "the sdist has what a build needs, and its crates check"

echo "==> installing the x86_64 wheel into a scratch venv"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv "$scratch/venv"
# numpy from the index; then tracklite from dist/ only (pip picks the wheel
# that fits this interpreter), never from the index.
"$scratch/venv/bin/python" -m pip install --disable-pip-version-check --quiet numpy
"$scratch/venv/bin/python" -m pip install --disable-pip-version-check --quiet \
    --no-index --find-links "$dist" --only-binary tracklite tracklite
"$scratch/venv/bin/python" -c \
    "import tracklite, tracklite._native as n; print('imported tracklite', n.__version__, 'from', tracklite.__file__)"

echo "==> made in $dist/:"
ls -l "$dist"
