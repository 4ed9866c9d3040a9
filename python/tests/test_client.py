"""MlflowClient end to end, as MLflow's client examples use it."""

from __future__ import annotations

import time
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

import tracklite
from tracklite import MlflowClient
from tracklite.entities import Metric, PagedList, Param, RunStatus, RunTag, ViewType


@pytest.fixture
def client(store_path: Path) -> MlflowClient:
    return MlflowClient(str(store_path))


def test_client_imports_as_in_mlflow():
    from tracklite.client import MlflowClient as FromClient
    from tracklite.tracking import MlflowClient as FromTracking

    assert FromClient is FromTracking is tracklite.MlflowClient


def test_client_uses_the_current_tracking_store_by_default(fresh_tracking: Path):
    client = MlflowClient()
    assert client.tracking_uri == str(fresh_tracking)
    assert Path(client.store.path) == fresh_tracking.resolve()


def test_experiments(client: MlflowClient):
    exp_id = client.create_experiment(
        "Social NLP Experiments", tags={"nlp.framework": "Spark NLP", "version": 2}
    )
    exp = client.get_experiment(exp_id)
    assert exp.name == "Social NLP Experiments"
    assert exp.tags == {"nlp.framework": "Spark NLP", "version": "2"}
    assert exp.lifecycle_stage == "active"
    assert exp.artifact_location and exp.creation_time is not None
    assert client.get_experiment_by_name("Social NLP Experiments").experiment_id == exp_id
    assert client.get_experiment_by_name("nope") is None

    client.set_experiment_tag(exp_id, "nlp.framework", "Spark NLP 5")
    client.delete_experiment_tag(exp_id, "version")
    assert client.get_experiment(exp_id).tags == {"nlp.framework": "Spark NLP 5"}

    client.rename_experiment(exp_id, "Renamed")
    assert client.get_experiment(exp_id).name == "Renamed"

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert exp_id not in [e.experiment_id for e in client.search_experiments()]
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert [e.experiment_id for e in deleted] == [exp_id]
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"


def test_search_experiments_pages(client: MlflowClient):
    for i in range(5):
        client.create_experiment(f"exp-{i}")
    page = client.search_experiments(
        max_results=2, order_by=["name ASC"], filter_string="name LIKE 'exp-%'"
    )
    assert isinstance(page, PagedList) and len(page) == 2 and page.token
    names = [e.name for e in page]
    while page.token:
        page = client.search_experiments(
            max_results=2,
            order_by=["name ASC"],
            filter_string="name LIKE 'exp-%'",
            page_token=page.token,
        )
        names += [e.name for e in page]
    assert names == [f"exp-{i}" for i in range(5)]


def test_create_run_and_log_by_id(client: MlflowClient):
    exp_id = client.create_experiment("runs")
    start = int(time.time() * 1000) - 5000
    run = client.create_run(exp_id, start_time=start, tags={"a": 1}, run_name="trial-1")
    run_id = run.info.run_id
    assert len(run_id) == 32 and run.info.run_uuid == run_id
    assert run.info.status == "RUNNING" and run.info.start_time == start
    assert run.info.run_name == "trial-1" and run.data.tags["mlflow.runName"] == "trial-1"
    assert run.data.tags["a"] == "1"
    assert tracklite.active_run() is None  # create_run does not make a run active

    assert client.log_param(run_id, "lr", 0.1) == 0.1
    client.log_metric(run_id, "loss", 0.5)
    client.log_metric(run_id, "loss", 0.25, timestamp=start + 10, step=1)
    client.set_tag(run_id, "stage", "dev")
    client.set_tag(run_id, "tmp", "x")
    client.delete_tag(run_id, "tmp")
    got = client.get_run(run_id)
    assert got.data.params == {"lr": "0.1"}
    assert got.data.metrics == {"loss": 0.25}
    assert got.data.tags["stage"] == "dev" and "tmp" not in got.data.tags
    assert dict(got.info)["run_id"] == run_id

    history = client.get_metric_history(run_id, "loss")
    assert [(m.key, m.value, m.step) for m in history] == [("loss", 0.5, 0), ("loss", 0.25, 1)]
    assert history[1].timestamp == start + 10
    assert all(isinstance(m, Metric) for m in history)

    client.set_terminated(run_id)
    done = client.get_run(run_id).info
    assert done.status == "FINISHED" and done.end_time is not None


def test_log_batch_with_tracklite_entities(client: MlflowClient):
    run_id = client.create_run("0").info.run_id
    timestamp = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("m", 1.5, timestamp, 1), Metric("m", 2.5, timestamp, 2)],
        params=[Param("p", "p")],
        tags=[RunTag("t", "t")],
    )
    client.set_terminated(run_id)
    run = client.get_run(run_id)
    assert run.data.params == {"p": "p"}
    assert run.data.metrics == {"m": 2.5}
    assert run.data.tags["t"] == "t"
    assert run.info.status == "FINISHED"


def test_log_batch_with_duck_typed_objects(client: MlflowClient):
    """Any object with the fields works: MLflow's own entities included."""
    MetricTuple = namedtuple("MetricTuple", "key value timestamp step")

    @dataclass
    class MyParam:
        key: str
        value: object

    run_id = client.create_run("0").info.run_id
    client.log_batch(
        run_id,
        metrics=[
            MetricTuple("acc", 0.9, 1_700_000_000_000, 3),
            SimpleNamespace(key="acc", value=0.95, timestamp=1_700_000_000_001.0, step=4),
            ("f1", 0.5, 1_700_000_000_002, 0),
        ],
        params=[MyParam("layers", [64, 32]), SimpleNamespace(key="opt", value="adam")],
        tags=[SimpleNamespace(key="owner", value="ana")],
    )
    run = client.get_run(run_id)
    assert run.data.metrics == {"acc": 0.95, "f1": 0.5}
    assert run.data.params == {"layers": "[64, 32]", "opt": "adam"}
    assert run.data.tags["owner"] == "ana"
    steps = [(m.step, m.timestamp) for m in client.get_metric_history(run_id, "acc")]
    assert steps == [(3, 1_700_000_000_000), (4, 1_700_000_000_001)]


def test_log_batch_is_atomic_and_large_batches_are_split(client: MlflowClient):
    run_id = client.create_run("0").info.run_id
    with pytest.raises(tracklite.InvalidValueError):
        client.log_batch(
            run_id,
            metrics=[Metric("ok", 1.0, 1, 0)],
            params=[Param("x" * 300, "too long a key")],
        )
    assert client.get_run(run_id).data.metrics == {}

    many = [Metric("series", float(i), 1_700_000_000_000 + i, i) for i in range(2500)]
    params = [Param(f"p{i}", i) for i in range(150)]
    client.log_batch(run_id, metrics=many, params=params)
    assert len(client.get_metric_history(run_id, "series")) == 2500
    assert len(client.get_run(run_id).data.params) == 150


def test_update_delete_restore_run(client: MlflowClient):
    run_id = client.create_run("0", run_name="before").info.run_id
    client.update_run(run_id, status="FAILED", name="after")
    info = client.get_run(run_id).info
    assert info.status == "FAILED" and info.run_name == "after"
    client.update_run(run_id, status=RunStatus.to_string(RunStatus.KILLED))
    assert client.get_run(run_id).info.status == "KILLED"

    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs(["0"]) == []
    assert [r.info.run_id for r in client.search_runs(["0"], run_view_type=ViewType.ALL)] == [
        run_id
    ]
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"

    client.set_terminated(run_id, status="FINISHED", end_time=1_800_000_000_000)
    assert client.get_run(run_id).info.end_time == 1_800_000_000_000


def test_search_runs_pages_with_tokens(client: MlflowClient):
    exp_id = client.create_experiment("paged")
    ids = set()
    for i in range(7):
        run = client.create_run(exp_id)
        client.log_metric(run.info.run_id, "score", float(i))
        ids.add(run.info.run_id)
    page = client.search_runs(
        [exp_id], "metrics.score >= 2", max_results=2, order_by=["metrics.score DESC"]
    )
    assert isinstance(page, PagedList) and page.token is not None
    scores = [r.data.metrics["score"] for r in page]
    while page.token:
        page = client.search_runs(
            [exp_id],
            "metrics.score >= 2",
            max_results=2,
            order_by=["metrics.score DESC"],
            page_token=page.token,
        )
        scores += [r.data.metrics["score"] for r in page]
    assert scores == [6.0, 5.0, 4.0, 3.0, 2.0]
    assert page.to_list() == list(page)


def test_parent_run(client: MlflowClient):
    parent = client.create_run("0")
    child = client.create_run("0", tags={"mlflow.parentRunId": parent.info.run_id})
    assert client.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    assert client.get_parent_run(parent.info.run_id) is None


def test_artifacts(client: MlflowClient, tmp_path: Path):
    run_id = client.create_run("0").info.run_id
    model = tmp_path / "model.pkl"
    model.write_bytes(b"\x00\x01weights")
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "roc.png").write_bytes(b"png")
    client.log_artifact(run_id, str(model), "model")
    client.log_artifacts(run_id, str(folder), "plots")
    client.log_text(run_id, "héllo", "notes.txt")
    client.log_dict(run_id, {"a": 1}, "dir/params.json")

    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [
        ("dir", True),
        ("model", True),
        ("notes.txt", False),
        ("plots", True),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "model")] == ["model/model.pkl"]

    local = client.download_artifacts(run_id, "model/model.pkl", str(tmp_path / "out"))
    assert Path(local).read_bytes() == b"\x00\x01weights"
    everything = Path(client.download_artifacts(run_id, ""))
    assert (everything / "notes.txt").read_text(encoding="utf-8") == "héllo"
    assert (everything / "plots" / "roc.png").read_bytes() == b"png"
    assert (everything / "dir" / "params.json").exists()


def test_log_inputs_with_entities(client: MlflowClient):
    from tracklite.entities import Dataset, DatasetInput, InputTag

    run_id = client.create_run("0").info.run_id
    ds = Dataset("train", "d1", "local", '{"uri": "/data/train.csv"}', schema=None)
    client.log_inputs(run_id, [DatasetInput(ds, [InputTag("mlflow.data.context", "training")])])
    inputs = client.get_run(run_id).inputs.dataset_inputs
    assert len(inputs) == 1 and inputs[0].dataset == ds
    assert inputs[0].tags == [InputTag("mlflow.data.context", "training")]
    assert (
        client.get_run(run_id).to_dictionary()["inputs"]["dataset_inputs"][0]["dataset"]["name"]
        == "train"
    )


def test_client_and_fluent_see_the_same_store():
    with tracklite.start_run() as run:
        tracklite.log_metric("m", 1.0)
    assert MlflowClient().get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_unknown_run_and_experiment(client: MlflowClient):
    with pytest.raises(tracklite.NotFoundError):
        client.get_run("0" * 32)
    with pytest.raises(tracklite.NotFoundError):
        client.get_experiment("4242")
    with pytest.raises(tracklite.MlflowException) as e:
        client.log_param("f" * 32, "k", "v")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
