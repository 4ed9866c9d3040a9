"""The stores under test: a workspace folder that holds them, the URI by
which MLflow's client reaches each, and MLflow's no-op ceiling.

- MLflow's file store: ``file:///…`` (allowed by MLFLOW_ALLOW_FILE_STORE);
- MLflow's sqlite store: ``sqlite:///…``, each a copy of one database that
  MLflow created (creating one runs MLflow's migrations: about 2 s);
- tracklite through MLflow's client: ``tracklite:///…`` (the plugin);
- tracklite's native API: ``tracklite.Store(path)``;
- the no-op store (``tlnoop:``): the plugin's store with metric logging
  that does nothing, so that fluent ``log_metric`` costs only MLflow's own
  layers: the ceiling of any MLflow tracking store.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import FILE, NATIVE, NOOP, PLUGIN, SQLITE
from mlflow.tracking import MlflowClient
from mlflow.tracking._tracking_service.utils import _tracking_store_registry

from tracklite.mlflow_plugin import TrackliteStore

# Read by MLflow and the plugin when a store is opened: allow MLflow's file
# store, and keep `file:` URIs on it (the plugin could serve them from
# tracklite); nothing from the caller's environment picks another store,
# run or logging mode. Worker processes inherit these.
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
for _name in (
    "TRACKLITE_SERVE_FILE_URIS",
    "TRACKLITE_STORE",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_RUN_ID",
    "MLFLOW_ENABLE_ASYNC_LOGGING",
):
    os.environ.pop(_name, None)

NOOP_SCHEME = "tlnoop"


class NoopStore(TrackliteStore):
    """A tracklite plugin store whose metric logging does nothing."""

    def log_batch(self, run_id: str, metrics: Any = (), params: Any = (), tags: Any = ()) -> None:
        return None

    def log_metric(self, run_id: str, metric: Any) -> None:
        return None


def _noop_builder(store_uri: str, artifact_uri: str | None = None, **_: Any) -> NoopStore:
    path = store_uri.split(":", 1)[1].lstrip("/")
    return NoopStore("tracklite:///" + path, artifact_uri)


_tracking_store_registry.register(NOOP_SCHEME, _noop_builder)


@dataclass(frozen=True)
class StoreRef:
    """One store on disk: its kind (a store name), folder or file, and URI.
    A tracklite store has a ``tracklite:`` URI whichever API writes it."""

    kind: str
    path: Path
    uri: str


class Workspace:
    """A temporary folder that holds every store of one suite run."""

    def __init__(self, parent: str | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tracklite-bench-", dir=parent))
        self._count = 0
        self._sqlite_template: Path | None = None

    def new_store(self, kind: str) -> StoreRef:
        """A new, empty store of this kind (a store name of _common)."""
        self._count += 1
        path = self.root / f"{kind.replace(' ', '-')}-{self._count}"
        if kind == FILE:
            return StoreRef(kind, path, "file://" + str(path))
        if kind == SQLITE:
            path = path.with_suffix(".db")
            shutil.copyfile(self._template(), path)
            return StoreRef(kind, path, f"sqlite:///{path}")
        if kind == NOOP:
            return StoreRef(kind, path, f"{NOOP_SCHEME}://{path}")
        if kind in (PLUGIN, NATIVE):
            return StoreRef(kind, path, "tracklite://" + str(path))
        raise ValueError(f"unknown store {kind!r}")

    def _template(self) -> Path:
        if self._sqlite_template is None:
            path = self.root / "template.db"
            MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
            self._sqlite_template = path
        return self._sqlite_template

    def artifact_location(self) -> str:
        """Where experiments of MLflow's sqlite stores keep artifacts."""
        return "file://" + str(self.root / "artifacts")

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def mlflow_experiment(
    ws: Workspace, ref: StoreRef, name: str = "bench"
) -> tuple[MlflowClient, str]:
    """MLflow's client of a store, and a new experiment in it."""
    client = MlflowClient(tracking_uri=ref.uri)
    location = ws.artifact_location() if ref.kind == SQLITE else None
    return client, client.create_experiment(name, artifact_location=location)
