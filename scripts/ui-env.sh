#!/usr/bin/env bash
# What the browser tests of the MLflow plugin need beyond the Python
# environment (scripts/python-env.sh): Debian's headless-capable Chromium at
# /usr/bin/chromium, installed only when missing. The Python side drives it
# with the `playwright` package (its own browser download is never used:
# the tests point it at this Chromium), installed into the venv when missing.
#
# Usage: bash scripts/ui-env.sh            (from any directory; as root, or
#        with sudo available, for apt-get)
# Environment: TRACKLITE_VENV (the venv's directory; default .venv),
#              CHROMIUM (the browser to check for; default /usr/bin/chromium).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="${TRACKLITE_VENV:-.venv}"
chromium="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$chromium" ]; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    echo "==> installing chromium (Debian package)"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        chromium fonts-liberation >/dev/null
fi

if [ -x "$venv/bin/python" ] &&
    ! "$venv/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('playwright') is None)"; then
    echo "==> installing playwright (Python package only; no browser download)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$venv/bin/python" -m pip install \
        --disable-pip-version-check --quiet playwright
fi

"$chromium" --version 2>/dev/null
