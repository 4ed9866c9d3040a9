"""MLflow's fluent API, unchanged, on a ``tracklite:`` tracking URI."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")


def test_a_run_with_params_metrics_tags(tracking_uri: str, store_dir: Path) -> None:
    mlflow.set_experiment("fluent")
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"layers": 3, "act": "relu"})
        for step in range(10):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=9)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev"})
    got = mlflow.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "first"
    assert got.info.end_time is not None
    assert got.data.params == {"lr": "0.01", "layers": "3", "act": "relu"}
    assert got.data.metrics == {"loss": 0.1, "acc": 0.9, "f1": 0.8}
    assert got.data.tags["team"] == "vision" and got.data.tags["stage"] == "dev"
    assert got.data.tags["mlflow.runName"] == "first"
    assert mlflow.get_experiment(got.info.experiment_id).name == "fluent"
    # The data is in the tracklite store folder.
    assert (store_dir / "index.sqlite").is_file()


def test_a_failing_block_ends_the_run_failed(tracking_uri: str) -> None:
    with pytest.raises(ZeroDivisionError), mlflow.start_run() as run:
        1 / 0  # noqa: B018
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_nan_and_infinities_are_kept(tracking_uri: str) -> None:
    with mlflow.start_run() as run:
        mlflow.log_metric("x", float("nan"), step=0)
        mlflow.log_metric("x", float("inf"), step=1)
        mlflow.log_metric("x", float("-inf"), step=2)
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "x")
    values = [m.value for m in history]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def test_nested_runs(tracking_uri: str) -> None:
    with mlflow.start_run(run_name="sweep") as parent:
        children = []
        for lr in (0.1, 0.01):
            with mlflow.start_run(run_name=f"lr={lr}", nested=True) as child:
                mlflow.log_param("lr", lr)
                mlflow.log_metric("loss", lr * 2)
                children.append(child.info.run_id)
        assert mlflow.active_run().info.run_id == parent.info.run_id
    for run_id in children:
        tags = mlflow.get_run(run_id).data.tags
        assert tags["mlflow.parentRunId"] == parent.info.run_id
    found = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        output_format="list",
    )
    assert sorted(r.info.run_id for r in found) == sorted(children)


def test_search_runs_to_pandas(tracking_uri: str) -> None:
    pd = pytest.importorskip("pandas")
    experiment_id = mlflow.create_experiment("search")
    for i in range(5):
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"r{i}"):
            mlflow.log_param("i", i)
            mlflow.log_metric("score", i / 10)
            mlflow.set_tag("parity", "even" if i % 2 == 0 else "odd")
    df = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string="metrics.score >= 0.2 AND tags.parity = 'even'",
        order_by=["metrics.score DESC"],
    )
    assert isinstance(df, pd.DataFrame)
    assert list(df["metrics.score"]) == [0.4, 0.2]
    assert list(df["params.i"]) == ["4", "2"]
    assert list(df["tags.mlflow.runName"]) == ["r4", "r2"]
    assert set(df["status"]) == {"FINISHED"}
    assert {"run_id", "experiment_id", "start_time", "end_time", "artifact_uri"} <= set(df.columns)
    by_name = mlflow.search_runs(experiment_names=["search"], max_results=2)
    assert len(by_name) == 2


def test_artifacts_live_in_the_store(tracking_uri: str, store_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("hello")
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "a.csv").write_text("1,2\n")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(src))
        mlflow.log_artifacts(str(folder), artifact_path="plots")
        mlflow.log_text("text body", "texts/t.txt")
        mlflow.log_dict({"k": 1}, "config.json")
        artifact_uri = mlflow.get_artifact_uri()
    assert artifact_uri.startswith("file://")
    assert artifact_uri.startswith((store_dir / "artifacts").as_uri())
    run_id = run.info.run_id
    listed = {f.path for f in mlflow.MlflowClient().list_artifacts(run_id)}
    assert listed == {"notes.txt", "plots", "texts", "config.json"}
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="notes.txt")
    assert Path(local).read_text() == "hello"
    everything = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/"))
    assert (everything / "plots" / "a.csv").read_text() == "1,2\n"
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/texts/t.txt") == "text body"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json") == {"k": 1}


def test_datasets_are_run_inputs(tracking_uri: str) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(frame, name="tiny", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training", tags={"split": "train"})
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "tiny"
    assert inputs[0].dataset.digest == dataset.digest
    assert inputs[0].dataset.source_type == dataset.source._get_source_type()
    tags = {t.key: t.value for t in inputs[0].tags}
    assert tags == {"mlflow.data.context": "training", "split": "train"}
    found = mlflow.search_runs(filter_string="dataset.name = 'tiny'", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_the_tracking_uri_from_the_environment(store_dir: Path, tmp_path: Path) -> None:
    # A script that does not mention tracklite: only MLFLOW_TRACKING_URI does.
    script = tmp_path / "train.py"
    script.write_text(
        "import mlflow\n"
        "with mlflow.start_run() as run:\n"
        "    mlflow.log_metric('loss', 0.5)\n"
        "print(run.info.run_id)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "MLFLOW_TRACKING_URI": "tracklite:./runs",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    run_id = out.stdout.strip().splitlines()[-1]
    client = mlflow.MlflowClient(f"tracklite://{tmp_path / 'runs'}")
    assert client.get_run(run_id).data.metrics == {"loss": 0.5}


def test_importing_the_plugin_before_mlflow_registers_it(tmp_path: Path) -> None:
    code = (
        "import tracklite.mlflow_plugin\n"
        "import mlflow\n"
        "from mlflow.tracking._tracking_service.utils import _get_store\n"
        "print(type(_get_store('tracklite:./s')).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    assert out.stdout.strip() == "TrackliteStore"
