"""Fixtures of the MLflow plugin's tests: each test gets a tracking URI of
a fresh tracklite store, MLflow with no active run or experiment and its
telemetry off, and the file-URI opt-in unset; MLflow's cached stores are
dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow", reason="the MLflow plugin's tests need mlflow")


def _reset_mlflow() -> None:
    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service import utils

    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    fluent._active_experiment_id = None
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        os.environ.pop(name, None)
    utils._tracking_store_registry._get_store_with_resolved_uri.cache_clear()


@pytest.fixture(autouse=True)
def mlflow_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    monkeypatch.delenv("TRACKLITE_SERVE_FILE_URIS", raising=False)
    _reset_mlflow()
    yield
    _reset_mlflow()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """The folder of the test's tracklite store (made on first use)."""
    return tmp_path / "store"


@pytest.fixture
def tracking_uri(store_dir: Path) -> str:
    """The test's store as a ``tracklite:`` URI, set as MLflow's tracking URI."""
    uri = f"tracklite://{store_dir}"
    mlflow.set_tracking_uri(uri)
    return uri


@pytest.fixture
def client(tracking_uri: str) -> Any:
    return mlflow.MlflowClient(tracking_uri)


@pytest.fixture
def store(tracking_uri: str) -> Any:
    """The plugin's store itself, as MLflow builds it for the URI."""
    from mlflow.tracking._tracking_service.utils import _get_store

    return _get_store(tracking_uri)
