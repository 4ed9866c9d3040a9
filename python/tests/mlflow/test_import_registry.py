"""Importing an MLflow file store's model registry: the registry is written
by MLflow's own FileStore (models, versions, stages, tags, aliases,
renames, deletes), imported with ``tracklite.import_mlruns``, and then what
MLflow's FileStore reads from the folder is compared, field by field, with
what the store holds, read through the native API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import tracklite

mlflow = pytest.importorskip("mlflow", reason="these tests write registries with MLflow itself")

from mlflow.entities import LoggedModelStatus, RunStatus  # noqa: E402
from mlflow.entities.model_registry import (  # noqa: E402
    ModelVersionTag,
    RegisteredModelTag,
)
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository  # noqa: E402
from mlflow.store.model_registry.file_store import FileStore as RegistryStore  # noqa: E402
from mlflow.store.tracking.file_store import FileStore as TrackingStore  # noqa: E402

T0 = 1_700_000_000_000


def _models(store: Path, name: str | None = None) -> Any:
    """The store's registered models (as dicts of the native API), or one
    model and its versions."""
    native = tracklite.Store(store)._native
    if name is None:
        return native.search_registered_models(max_results=1000)[0]
    versions, _ = native.search_model_versions(f"name = '{name}'", max_results=1000)
    return {"model": native.get_registered_model(name), "versions": versions}


class Registry:
    """What the fixture made, for the checks."""

    def __init__(self, root: Path, run_id: str, run_artifacts: str, model_id: str) -> None:
        self.root = root
        self.run_id = run_id
        self.run_artifacts = run_artifacts
        self.model_id = model_id


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """An mlruns folder with a run (a model in its artifacts), a logged
    model, and a registry written by MLflow's FileStore."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    root = tmp_path / "mlruns"
    # The registry looks logged models up through the tracking URI.
    mlflow.set_tracking_uri(root.as_uri())
    fs = TrackingStore(str(root))
    exp = fs.create_experiment("exp")
    run = fs.create_run(exp, "ada", T0, [], "trainer")
    files = tmp_path / "files"
    files.mkdir()
    (files / "MLmodel").write_text("flavors: {}\n")
    LocalArtifactRepository(run.info.artifact_uri).log_artifacts(str(files), "model")
    fs.update_run_info(run.info.run_id, RunStatus.FINISHED, T0 + 1000, None)
    logged = fs.create_logged_model(exp, name="lm", source_run_id=run.info.run_id)
    LocalArtifactRepository(logged.artifact_location).log_artifacts(str(files))
    fs.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)

    reg = RegistryStore(str(root))
    reg.create_registered_model(
        "iris",
        tags=[RegisteredModelTag("team", "vision"), RegisteredModelTag("a/b", "x\ny 'z'")],
        description="flowers",
    )
    run_id = run.info.run_id
    reg.create_model_version(
        "iris",
        f"runs:/{run_id}/model",
        run_id=run_id,
        tags=[ModelVersionTag("k", "v"), ModelVersionTag("drop", "me")],
        run_link="http://example/run",
        description="first",
    )
    reg.create_model_version("iris", f"{run.info.artifact_uri}/model", run_id=run_id)
    reg.create_model_version("iris", "/elsewhere/three")
    reg.create_model_version("iris", f"models:/{logged.model_id}", model_id=logged.model_id)
    reg.create_model_version("iris", "s3://bucket/five")
    reg.transition_model_version_stage("iris", 1, "Production", False)
    reg.transition_model_version_stage("iris", 2, "Staging", False)
    # Moves version 1 to Archived.
    reg.transition_model_version_stage("iris", 5, "Production", True)
    reg.set_registered_model_alias("iris", "champion", 5)
    reg.set_registered_model_alias("iris", "dev", 2)
    reg.set_registered_model_alias("iris", "old", 3)
    reg.delete_model_version("iris", 3)  # takes its alias along
    reg.set_model_version_tag("iris", 2, ModelVersionTag("note", "multi\nline"))
    reg.delete_model_version_tag("iris", 1, "drop")
    reg.update_model_version("iris", 4, "from a logged model")
    reg.set_registered_model_tag("iris", RegisteredModelTag("gone", "soon"))
    reg.delete_registered_model_tag("iris", "gone")

    reg.create_registered_model("old-name")
    reg.create_model_version("old-name", "/r/1")
    reg.create_model_version("old-name", "/r/2")
    reg.delete_model_version("old-name", 2)
    reg.rename_registered_model("old-name", "renamed")
    reg.create_registered_model("doomed")
    reg.delete_registered_model("doomed")
    reg.create_registered_model("empty", description="nothing yet")
    return Registry(root, run_id, run.info.artifact_uri, logged.model_id)


def _versions(reg: RegistryStore, name: str) -> list[Any]:
    found = reg.search_model_versions(f"name = '{name}'", max_results=1000)
    return sorted(found, key=lambda v: int(v.version))


def test_the_registry_mlflow_reads_is_the_registry_tracklite_holds(
    registry: Registry, store_path: Path
) -> None:
    report = tracklite.import_mlruns(registry.root, store=store_path)
    assert report["problems"] == [], report
    assert report["registered_models"] == 3
    assert report["model_versions"] == 5
    assert report["registered_models_present"] == 0
    assert any(n.startswith("2 deleted model versions") for n in report["not_imported"])

    reg = RegistryStore(str(registry.root))
    theirs = {m.name: m for m in reg.search_registered_models(max_results=1000)}
    assert set(theirs) == {"iris", "renamed", "empty"}
    ours = {m["name"]: m for m in _models(store_path)}
    assert set(ours) == set(theirs)
    store = tracklite.Store(store_path)
    run_copy = store.get_run(registry.run_id).info.artifact_uri

    for name, m in theirs.items():
        o = ours[name]
        assert o["creation_timestamp"] == m.creation_timestamp, name
        assert o["last_updated_timestamp"] == m.last_updated_timestamp, name
        assert o["description"] == m.description, name
        assert o["tags"] == m.tags, name
        assert o["aliases"] == {a: int(v) for a, v in m.aliases.items()}, name
        assert sorted((v["version"], v["current_stage"]) for v in o["latest_versions"]) == sorted(
            (int(v.version), v.current_stage) for v in m.latest_versions
        ), name

        detail = _models(store_path, name)
        assert detail["model"] == o
        ours_v = sorted(detail["versions"], key=lambda v: v["version"])
        theirs_v = _versions(reg, name)
        assert [v["version"] for v in ours_v] == [int(v.version) for v in theirs_v], name
        for ov, tv in zip(ours_v, theirs_v):
            where = f"{name} version {tv.version}"
            assert ov["name"] == tv.name, where
            for field in (
                "creation_timestamp",
                "last_updated_timestamp",
                "description",
                "user_id",
                "current_stage",
                "source",
                "run_id",
                "run_link",
                "model_id",
                "status",
                "status_message",
                "tags",
            ):
                assert ov[field] == getattr(tv, field), f"{where}: {field}"
            assert sorted(ov["aliases"]) == sorted(tv.aliases), where
            # Where the files are: as MLflow has it, unless it is in the
            # imported folder's artifacts, which the store copied.
            mlflow_location = reg.get_model_version_download_uri(name, tv.version)
            if mlflow_location.startswith(registry.root.as_uri()):
                assert ov["storage_location"].startswith(os.fspath(store.path)), where
                assert os.path.isfile(os.path.join(ov["storage_location"], "MLmodel")), where
            else:
                assert ov["storage_location"] == mlflow_location, where

    # Deleted versions are gone in both; MLflow says so for version 3.
    with pytest.raises(MlflowException):
        reg.get_model_version("iris", 3)
    iris = {v["version"]: v for v in _models(store_path, "iris")["versions"]}
    assert sorted(iris) == [1, 2, 4, 5]
    assert iris[1]["current_stage"] == "Archived"
    assert iris[2]["tags"] == {"note": "multi\nline"}
    assert iris[2]["storage_location"] == f"{run_copy}/model"
    logged = store._native.get_logged_model(registry.model_id, False)
    assert iris[4]["storage_location"] == logged["artifact_location"]
    assert iris[4]["model_id"] == registry.model_id


def test_a_second_import_changes_nothing(registry: Registry, store_path: Path) -> None:
    tracklite.import_mlruns(registry.root, store=store_path)
    before = [_models(store_path), *(_models(store_path, n) for n in ("iris", "renamed", "empty"))]
    second = tracklite.import_mlruns(registry.root, store=store_path)
    assert second["problems"] == []
    assert (second["registered_models"], second["model_versions"]) == (0, 0)
    assert second["registered_models_present"] == 3
    after = [_models(store_path), *(_models(store_path, n) for n in ("iris", "renamed", "empty"))]
    assert after == before
