"""Fixtures of the MLflow plugin's tests: each test gets a tracking URI of
a fresh tracklite store, MLflow with no active run or experiment and its
telemetry off, and the file-URI opt-in unset; MLflow's cached stores are
dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow", reason="the MLflow plugin's tests need mlflow")


@pytest.fixture(autouse=True)
def mlflow_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    monkeypatch.delenv("TRACKLITE_SERVE_FILE_URIS", raising=False)
    # MLflow's fluent state is reset around every test by the root
    # conftest's fixture (reset_mlflow).
    yield


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
