"""The package's PEP 517 build backend: maturin's, behind a check for cargo.

Building tracklite from source (the sdist, or a checkout) compiles its Rust
core, so it needs the Rust toolchain. Without it, maturin's own backend asks
for a package that downloads a toolchain, and a failure there ends in a long
traceback. This backend stops first, with one line that says what to do, and
otherwise hands every hook to maturin unchanged.

pyproject.toml names it (`build-backend`, with `backend-path`), and the sdist
carries this file, so pip runs it wherever it builds the package.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import maturin

MISSING_RUST = (
    "error: tracklite needs the Rust toolchain (cargo) to build from source; "
    "install it from https://rustup.rs, or install a prebuilt wheel: "
    "pip install --only-binary tracklite tracklite"
)

# `cargo --version` answers at once; a rustup proxy with no toolchain
# installed fails at once too. The deadline only guards a hung binary.
CARGO_PROBE_SECONDS = 60


def cargo_works() -> bool:
    """True when `cargo` is on PATH and runs."""
    cargo = shutil.which("cargo")
    if cargo is None:
        return False
    try:
        done = subprocess.run(
            [cargo, "--version"],
            capture_output=True,
            timeout=CARGO_PROBE_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def require_cargo() -> None:
    """Ends the hook with the one-line message when cargo is missing.

    SystemExit with a message prints that message alone (no traceback), and
    pip shows it as the hook's whole output.
    """
    if not cargo_works():
        raise SystemExit(MISSING_RUST)


def _checked(hook: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(hook)
    def run(*args: Any, **kwargs: Any) -> Any:
        require_cargo()
        return hook(*args, **kwargs)

    return run


# Every hook of maturin's backend, each behind the check. pip calls a
# get_requires hook first, so a machine without cargo stops there, before
# maturin would ask for its toolchain installer.
get_requires_for_build_wheel = _checked(maturin.get_requires_for_build_wheel)
get_requires_for_build_editable = _checked(maturin.get_requires_for_build_editable)
get_requires_for_build_sdist = _checked(maturin.get_requires_for_build_sdist)
prepare_metadata_for_build_wheel = _checked(maturin.prepare_metadata_for_build_wheel)
prepare_metadata_for_build_editable = _checked(maturin.prepare_metadata_for_build_editable)
build_wheel = _checked(maturin.build_wheel)
build_editable = _checked(maturin.build_editable)
build_sdist = _checked(maturin.build_sdist)

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]
