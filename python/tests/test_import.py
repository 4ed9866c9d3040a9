"""``tracklite.import_mlruns``: an MLflow file store written by MLflow
itself is imported, then what MLflow's FileStore reads from the folder is
compared, field by field, with what tracklite reads from the store."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest

import tracklite

pytest.importorskip("mlflow", reason="these tests write mlruns folders with MLflow itself")

from mlflow.entities import (  # noqa: E402
    Dataset,
    DatasetInput,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository  # noqa: E402
from mlflow.store.tracking.file_store import FileStore  # noqa: E402

T0 = 1_700_000_000_000
VALUES = [math.nan, math.inf, -math.inf, 0.1, 1 / 3, 1e-300, -0.0, 1.7976931348623157e308]


def _metrics(key: str, values: list[float], steps: list[int]) -> list[Metric]:
    return [Metric(key, v, T0 + i, s) for i, (v, s) in enumerate(zip(values, steps))]


@pytest.fixture
def mlruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An mlruns folder with experiments, runs of every kind, datasets,
    artifacts and a logged model, written by MLflow's FileStore."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    root = tmp_path / "mlruns"
    fs = FileStore(str(root))
    exp = fs.create_experiment(
        "exp: one",
        tags=[ExperimentTag("team", "vision"), ExperimentTag("a/b", "line one\nline 'two'")],
    )
    doomed = fs.create_experiment("doomed")

    run = fs.create_run(exp, "ada", T0, [RunTag("a/b", "yes")], "1e-3")
    run_id = run.info.run_id
    fs.log_batch(
        run_id,
        metrics=_metrics("loss", VALUES, [0, 1, 2, 3, 4, -5, 6, 2**40])
        + _metrics("val/acc", [0.5, 0.75], [0, 1]),
        params=[Param("lr", "0.001"), Param("nested/p", "x y"), Param("long", "z" * 6000)],
        tags=[RunTag("note", "multi\nline"), RunTag("unicode", "héllo ✓")],
    )
    dataset = Dataset(
        name="train",
        digest="244437a9",
        source_type="s3",
        source='{"uri": "s3://bucket/data.csv"}',
        schema='{"mlflow_colspec": [{"type": "long", "name": "a"}, {"type": "double", '
        '"name": "b"}]}',
        profile='{"num_rows": 3}',
    )
    fs.log_inputs(
        run_id, datasets=[DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])]
    )
    fs.log_metric(
        run_id,
        Metric("on_dataset", 0.25, T0 + 50, 0, dataset_name="train", dataset_digest="244437a9"),
    )
    model = fs.create_logged_model(
        exp,
        name="lm",
        source_run_id=run_id,
        tags=[LoggedModelTag("t", "v")],
        params=[LoggedModelParameter("alpha", "0.5")],
        model_type="classifier",
    )
    fs.log_metric(run_id, Metric("acc", 0.9, T0 + 60, 1, model_id=model.model_id))
    fs.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    fs.log_inputs(run_id, models=[LoggedModelInput(model.model_id)])
    fs.log_outputs(run_id, [LoggedModelOutput(model.model_id, 3)])
    source = root.parent / "files"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "weights.bin").write_bytes(b"\x00\x01binary")
    (source / "notes.txt").write_text("hello")
    repo = LocalArtifactRepository(run.info.artifact_uri)
    repo.log_artifacts(str(source), "outputs")
    fs.update_run_info(run_id, RunStatus.FINISHED, T0 + 9_000, None)

    deleted = fs.create_run(exp, "bob", T0 + 1, [], "gone")
    fs.log_metric(deleted.info.run_id, Metric("m", 1.5, T0 + 2, 0))
    fs.update_run_info(deleted.info.run_id, RunStatus.FAILED, T0 + 3, None)
    fs.delete_run(deleted.info.run_id)

    running = fs.create_run(exp, "cy", T0 + 2, [], None)
    fs.log_param(running.info.run_id, Param("p", "1"))

    trashed = fs.create_run(doomed, "dee", T0 + 3, [], "trashed")
    fs.log_metric(trashed.info.run_id, Metric("m", 2.5, T0 + 4, 0))
    fs.delete_experiment(doomed)
    return root


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )


def _import(mlruns: Path, store_path: Path) -> dict[str, Any]:
    return tracklite.import_mlruns(mlruns, store=store_path)


def test_everything_mlflow_reads_tracklite_reads(mlruns: Path, store_path: Path):
    report = _import(mlruns, store_path)
    assert report["problems"] == [], report
    store = tracklite.Store(store_path)
    fs = FileStore(str(mlruns))

    # Experiments: ids, names, stages, times, tags.
    theirs = {e.experiment_id: e for e in fs.search_experiments(view_type=ViewType.ALL)}
    ours = {e.experiment_id: e for e in store.list_experiments(view_type="all")}
    assert set(ours) == set(theirs)
    for exp_id, e in theirs.items():
        o = ours[exp_id]
        assert (o.name, o.lifecycle_stage) == (e.name, e.lifecycle_stage)
        assert (o.creation_time, o.last_update_time) == (e.creation_time, e.last_update_time)
        assert o.tags == e.tags
        assert o.artifact_location == f"{store.artifact_root}/{exp_id}"
    assert ours[next(i for i, e in theirs.items() if e.name == "doomed")].lifecycle_stage == (
        LifecycleStage.DELETED
    )

    # Runs: info, params, tags, latest metrics, histories, inputs.
    runs = fs.search_runs(list(theirs), "", ViewType.ALL, max_results=1000)
    assert len(runs) == 4
    assert report["runs_imported"] == 4
    for r in runs:
        o = store.get_run(r.info.run_id)
        for field in (
            "run_id",
            "experiment_id",
            "run_name",
            "user_id",
            "status",
            "start_time",
            "end_time",
            "lifecycle_stage",
        ):
            assert getattr(o.info, field) == getattr(r.info, field), field
        assert o.data.params == r.data.params
        assert o.data.tags == r.data.tags
        assert set(o.data.metrics) == set(r.data.metrics)
        for key, value in r.data.metrics.items():
            assert _same(o.data.metrics[key], value), key
            theirs_h = fs.get_metric_history(r.info.run_id, key)
            ours_h = store.get_metric_history(r.info.run_id, key)
            assert [(m.step, m.timestamp) for m in ours_h] == [
                (m.step, m.timestamp) for m in theirs_h
            ]
            assert all(_same(a.value, b.value) for a, b in zip(ours_h, theirs_h)), key
        theirs_in = [
            (dict(i.dataset), {t.key: t.value for t in i.tags}) for i in r.inputs.dataset_inputs
        ]
        ours_in = [
            (dict(i.dataset), {t.key: t.value for t in i.tags}) for i in o.inputs.dataset_inputs
        ]
        assert ours_in == theirs_in

    run = next(r for r in runs if r.info.run_name == "1e-3")
    run_id = run.info.run_id
    loss = store.get_metric_history(run_id, "loss")
    assert [m.step for m in loss] == [0, 1, 2, 3, 4, -5, 6, 2**40]
    assert [m.value for m in loss][1:] == VALUES[1:] and math.isnan(loss[0].value)
    assert math.copysign(1, loss[6].value) == -1, "-0.0 keeps its sign"
    assert len(run.data.params["long"]) == 6000

    # Artifacts: copied into the store, the same files and bytes.
    repo = LocalArtifactRepository(run.info.artifact_uri)
    theirs_files = sorted((f.path, f.file_size) for f in repo.list_artifacts("outputs"))
    ours_files = sorted((f.path, f.file_size) for f in store.list_artifacts(run_id, "outputs"))
    assert ours_files == theirs_files
    assert store.read_artifact(run_id, "outputs/sub/weights.bin") == b"\x00\x01binary"
    assert store.artifact_dir(run_id).startswith(os.fspath(store.path))

    # The logged model, with its id, times, status and points.
    model = fs.search_logged_models([run.info.experiment_id])[0]
    ours_model = store._native.get_logged_model(model.model_id, False)
    assert ours_model["name"] == model.name
    assert ours_model["status"] == "READY"
    assert ours_model["creation_timestamp"] == model.creation_timestamp
    assert ours_model["last_updated_timestamp"] == model.last_updated_timestamp
    assert ours_model["source_run_id"] == run_id
    assert ours_model["params"] == model.params and ours_model["tags"] == model.tags
    assert report["logged_models"] == 1

    # The dataset a metric line names is kept with its point.
    assert report["metric_dataset_links"] == 1
    assert not any("dataset" in n for n in report["not_imported"])


def test_importing_again_is_a_no_op(mlruns: Path, store_path: Path):
    first = _import(mlruns, store_path)
    store = tracklite.Store(store_path)
    run_ids = [r.info.run_id for r in store.search_runs(view_type="all")]
    histories = {r: store.get_metric_history(r, "m") for r in run_ids}
    second = _import(mlruns, store_path)
    assert second["runs_imported"] == 0
    assert second["runs_present"] == first["runs_imported"] == 4
    assert second["metric_points"] == 0 and second["artifact_files"] == 0
    assert second["metric_dataset_links"] == 0
    assert second["experiments_created"] == 0
    assert {r: store.get_metric_history(r, "m") for r in run_ids} == histories


def test_damaged_files_are_reported_and_skipped(mlruns: Path, store_path: Path):
    fs = FileStore(str(mlruns))
    exp = fs.get_experiment_by_name("exp: one")
    runs = fs.search_runs([exp.experiment_id], "", ViewType.ALL)
    first = next(r for r in runs if r.info.run_name == "1e-3").info
    other = next(r for r in runs if r.info.run_name == "gone").info
    run_dir = mlruns / exp.experiment_id / first.run_id
    with open(run_dir / "metrics" / "loss", "a") as f:
        f.write(f"{T0 + 99} 0.12")  # a write cut short
    (mlruns / exp.experiment_id / other.run_id / "meta.yaml").write_text("run_id: [\n")

    report = _import(mlruns, store_path)
    paths = [p["path"] for p in report["problems"]]
    assert any(p.endswith("metrics/loss") for p in paths), report["problems"]
    assert any(p.endswith(f"{other.run_id}/meta.yaml") for p in paths)
    store = tracklite.Store(store_path)
    assert len(store.get_metric_history(first.run_id, "loss")) == len(VALUES)
    with pytest.raises(tracklite.NotFoundError):
        store.get_run(other.run_id)
    assert report["runs_imported"] == 3 and report["runs_skipped"] == 1


def test_the_default_store_and_a_store_object(mlruns: Path, fresh_tracking: Path, store_path: Path):
    report = tracklite.import_mlruns(mlruns)
    assert report["runs_imported"] == 4
    assert tracklite.get_experiment_by_name("exp: one") is not None
    store = tracklite.Store(store_path)
    assert tracklite.import_mlruns(os.fspath(mlruns), store=store)["runs_imported"] == 4
    with pytest.raises(tracklite.InvalidValueError):
        tracklite.import_mlruns(mlruns, store=mlruns)  # never into the mlruns folder itself
    with pytest.raises(tracklite.InvalidValueError):
        tracklite.import_mlruns(mlruns, store=mlruns / "inside")
    assert not (mlruns / "inside").exists(), "the source is left as it was"


def test_metrics_logged_with_a_dataset_keep_it(
    tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """MLflow 3 writes a metric logged with a dataset as a 5-field line
    ("timestamp value step dataset_name dataset_digest"). The import keeps
    the dataset with the point, and the plugin's histories carry it, as
    MLflow's FileStore reads it, in full and page by page.

    One difference, on purpose: MLflow's FileStore reads the step of a
    5-field line as 0 (its reader takes the step only from 3-field lines),
    while the file holds the real step; tracklite keeps the real one."""
    import mlflow
    import numpy as np

    from tracklite.mlflow_plugin import TrackliteStore
    from tracklite.mlflow_plugin.file_uris import ENV

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv(ENV, raising=False)
    root = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", root.as_uri())
    ds = mlflow.data.from_numpy(np.arange(6.0).reshape(3, 2), name="eval")
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", 0.5, step=1)
        mlflow.log_metric("acc", 0.9, step=3, dataset=ds)
        mlflow.log_metric("acc", 0.6, step=4)
        mlflow.log_metrics({"acc": 0.95, "f1": 0.7}, step=5, dataset=ds)
    run_id = run.info.run_id
    lines = (root / "0" / run_id / "metrics" / "acc").read_text().splitlines()
    assert [len(line.split(" ")) for line in lines] == [3, 5, 3, 5]

    report = _import(root, store_path)
    assert report["problems"] == [], report
    assert report["metric_dataset_links"] == 3
    fs = FileStore(str(root))
    plugin = TrackliteStore(f"tracklite:{store_path}")
    real_steps = {"acc": [1, 3, 4, 5], "f1": [5]}
    for key, steps in real_steps.items():
        theirs = fs.get_metric_history(run_id, key)
        ours = plugin.get_metric_history(run_id, key)
        fields = [(m.key, m.value, m.timestamp, m.dataset_name, m.dataset_digest) for m in ours]
        assert fields == [
            (m.key, m.value, m.timestamp, m.dataset_name, m.dataset_digest) for m in theirs
        ]
        assert [m.step for m in ours] == steps
        # MLflow's reader loses the step of every dataset-linked line.
        assert [m.step for m in theirs] == [
            0 if m.dataset_name else s for m, s in zip(theirs, steps)
        ]
    acc = plugin.get_metric_history(run_id, "acc")
    assert [(m.dataset_name, m.dataset_digest) for m in acc] == [
        (None, None),
        ("eval", ds.digest),
        (None, None),
        ("eval", ds.digest),
    ]

    # Pages are slices of the whole history, links included.
    for size in (1, 2, 3):
        paged, token = [], None
        while True:
            page = plugin.get_metric_history(run_id, "acc", max_results=size, page_token=token)
            paged.extend(page)
            token = page.token
            if token is None:
                break
        assert [m.to_dictionary() for m in paged] == [m.to_dictionary() for m in acc]

    # Through MLflow's client too, and the native call the plugin makes.
    client = mlflow.MlflowClient(f"tracklite:{store_path}")
    got = client.get_metric_history(run_id, "acc")
    assert [m.dataset_digest for m in got] == [None, ds.digest, None, ds.digest]
    native = tracklite.Store(store_path)._native
    assert native.metric_dataset_links(run_id, "acc") == [
        (1, "eval", ds.digest),
        (3, "eval", ds.digest),
    ]
    assert native.metric_dataset_links(run_id, "missing") == []
