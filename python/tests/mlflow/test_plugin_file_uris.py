"""The opt-in that serves MLflow's ``file:`` URIs from tracklite stores
(``TRACKLITE_SERVE_FILE_URIS=1``): off by default, so ``file:`` stays
MLflow's file store; on, the first open imports the ``mlruns`` folder into
the tracklite store beside it, and the folder is never modified."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking._tracking_service import utils  # noqa: E402

from tracklite import _native  # noqa: E402
from tracklite.mlflow_plugin import SERVE_FILE_URIS_ENV, TrackliteStore, file_uris  # noqa: E402

needs_importer = pytest.mark.skipif(
    not hasattr(_native.Store, "import_mlruns"), reason="the native module has no importer"
)


def _tree_digest(root: Path) -> dict[str, str]:
    """Every file under root with its content hash and mode: any change shows."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() + oct(path.stat().st_mode)
        else:
            out[rel] = "dir" + oct(path.stat().st_mode)
    return out


def _fresh_stores() -> None:
    utils._tracking_store_registry._get_store_with_resolved_uri.cache_clear()


@pytest.fixture
def mlruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """An MLflow file store written by MLflow itself: two experiments, a
    parent run with a child, metrics with history, params, tags, an artifact."""
    folder = tmp_path / "proj" / "mlruns"
    uri = folder.as_uri()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("legacy")
    with mlflow.start_run(run_name="old-parent") as parent:
        mlflow.log_param("lr", 0.1)
        for step in range(20):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
        mlflow.set_tag("team", "legacy")
        mlflow.log_text("old notes", "notes.txt")
        with mlflow.start_run(run_name="old-child", nested=True) as child:
            mlflow.log_metric("acc", 0.75)
    mlflow.set_tracking_uri(None)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    _fresh_stores()
    return {"folder": folder, "uri": uri, "parent": parent.info.run_id, "child": child.info.run_id}


def test_file_uris_stay_mlflows_without_the_opt_in(tmp_path: Path, monkeypatch) -> None:
    from mlflow.store.tracking.file_store import FileStore

    uri = (tmp_path / "mlruns").as_uri()
    # MLflow's own behaviour, unchanged: its file store refuses to open...
    with pytest.raises(MlflowException, match="MLFLOW_ALLOW_FILE_STORE"):
        utils._get_store(uri)
    # ...unless allowed, and then it is MLflow's FileStore.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    _fresh_stores()
    assert type(utils._get_store(uri)) is FileStore
    assert not (tmp_path / f"mlruns{file_uris.SUFFIX}").exists()


def test_the_opt_in_variable() -> None:
    assert SERVE_FILE_URIS_ENV == "TRACKLITE_SERVE_FILE_URIS"
    for value, on in (("1", True), ("true", True), ("YES", True), ("0", False), ("", False)):
        os.environ[SERVE_FILE_URIS_ENV] = value
        try:
            assert file_uris.enabled() is on
        finally:
            del os.environ[SERVE_FILE_URIS_ENV]


@needs_importer
def test_the_first_open_imports_the_folder_beside_it(mlruns: dict, monkeypatch) -> None:
    before = _tree_digest(mlruns["folder"])
    monkeypatch.setenv(SERVE_FILE_URIS_ENV, "1")
    mlflow.set_tracking_uri(mlruns["uri"])

    store = utils._get_store(mlruns["uri"])
    assert isinstance(store, TrackliteStore)
    beside = Path(str(mlruns["folder"]) + ".tracklite")
    assert Path(store.path) == beside and (beside / "index.sqlite").is_file()
    assert not list(beside.parent.glob("*.importing-*"))  # the staging folder is gone

    client = mlflow.MlflowClient()
    parent = client.get_run(mlruns["parent"])
    assert parent.info.run_name == "old-parent"
    assert parent.data.params == {"lr": "0.1"} and parent.data.tags["team"] == "legacy"
    assert [m.step for m in client.get_metric_history(mlruns["parent"], "loss")] == list(range(20))
    child = client.get_run(mlruns["child"])
    assert child.data.tags["mlflow.parentRunId"] == mlruns["parent"]
    assert mlflow.get_experiment_by_name("legacy").experiment_id == parent.info.experiment_id
    # Artifacts were copied into the store.
    assert parent.info.artifact_uri.startswith(beside.as_uri())
    assert mlflow.artifacts.load_text(f"runs:/{mlruns['parent']}/notes.txt") == "old notes"

    # Unchanged code goes on logging, now into the tracklite store.
    mlflow.set_experiment("legacy")
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", 0.01)
        mlflow.log_text("new notes", "new.txt")
    assert run.info.artifact_uri.startswith(beside.as_uri())
    found = mlflow.search_runs(experiment_names=["legacy"], output_format="list")
    assert len(found) == 3

    assert _tree_digest(mlruns["folder"]) == before  # never modified


@needs_importer
def test_later_opens_use_the_store_as_it_is(mlruns: dict, monkeypatch) -> None:
    monkeypatch.setenv(SERVE_FILE_URIS_ENV, "1")
    first = utils._get_store(mlruns["uri"])
    run_id = first.create_run("0", "me", 1, [], "kept").info.run_id
    _fresh_stores()
    again = utils._get_store(mlruns["uri"])
    assert again is not first and again.path == first.path
    assert again.get_run(run_id).info.run_name == "kept"
    assert again.get_run(mlruns["parent"]).info.run_name == "old-parent"


@needs_importer
def test_a_missing_folder_gives_an_empty_store(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(SERVE_FILE_URIS_ENV, "1")
    folder = tmp_path / "nothing-yet" / "mlruns"
    store = utils._get_store(folder.as_uri())
    assert isinstance(store, TrackliteStore)
    assert [e.name for e in store.search_experiments()] == ["Default"]
    assert not folder.exists()


def test_a_relative_file_uri(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(SERVE_FILE_URIS_ENV, "1")
    monkeypatch.chdir(tmp_path)
    store = utils._get_store("file:./mlruns")
    assert Path(store.path) == tmp_path / "mlruns.tracklite"
