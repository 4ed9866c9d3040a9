"""Shared fixtures. Every test gets a fresh tracking state: the fluent
functions log into a new store under the test's tmp_path, no run or
experiment is active, and the MLflow/tracklite environment variables are
unset (restored afterwards)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TRACKING_ENV = (
    "TRACKLITE_STORE",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_RUN_ID",
)


def reset_mlflow() -> None:
    """MLflow's process-wide fluent state back to nothing: no active run,
    no tracking URI or active experiment set, no cached store. A test that
    used MLflow would otherwise leave its experiment id to the next one."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return
    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service import utils

    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    fluent._active_experiment_id = None
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        os.environ.pop(name, None)
    utils._tracking_store_registry._get_store_with_resolved_uri.cache_clear()


def _reset_tracking() -> None:
    from tracklite import _tracking, fluent

    fluent._reset()
    _tracking._forget_stores()
    reset_mlflow()


@pytest.fixture(autouse=True)
def fresh_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fluent functions' store for this test (``TRACKLITE_STORE``)."""
    for name in TRACKING_ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "tracking-store"
    monkeypatch.setenv("TRACKLITE_STORE", str(path))
    _reset_tracking()
    yield path
    _reset_tracking()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A folder for a store of the test's own (not created yet)."""
    return tmp_path / "store"


@pytest.fixture
def store(store_path: Path):  # -> tracklite.Store
    import tracklite

    return tracklite.Store(store_path)


REPO = Path(__file__).resolve().parents[2]
#: Debian's Chromium, which the browser tests drive through playwright
#: (playwright's own browser download is never used).
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: Headless Chromium on a machine with no network: nothing in the
#: background reaches out, and only the loopback server resolves, so a
#: page's outside links fail at once.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def _browser_tools_present() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.access(CHROMIUM, os.X_OK)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, installed by scripts/ui-env.sh when missing. If it
    cannot be installed, the test fails under CI and is skipped elsewhere."""
    if not _browser_tools_present():
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / "ui-env.sh")],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        if done.returncode != 0 or not _browser_tools_present():
            message = f"scripts/ui-env.sh could not install the browser:\n{done.stderr[-2000:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
