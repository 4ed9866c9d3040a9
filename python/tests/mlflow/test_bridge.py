"""What runs MLflow itself from ``import tracklite as mlflow``: autolog
and model flavors log into the tracklite store, into tracklite's active
run; without MLflow they raise one clear error."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tracklite
from tracklite import _mlflow_bridge

mlflow = pytest.importorskip("mlflow")
sklearn_linear = pytest.importorskip("sklearn.linear_model")


@pytest.fixture(autouse=True)
def bridge_off() -> Iterator[None]:
    yield
    _mlflow_bridge.stop_using()
    mlflow.autolog(disable=True)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    return x, (x[:, 0] > 0).astype(int)


def test_autolog_logs_fit_into_tracklites_active_run(fresh_tracking: Path) -> None:
    tracklite.autolog(log_models=False, silent=True)
    x, y = _data()
    with tracklite.start_run(run_name="fit") as run:
        assert mlflow.active_run().info.run_id == run.info.run_id
        sklearn_linear.LogisticRegression(C=0.5).fit(x, y)
        tracklite.log_metric("mine", 1.0)
    assert mlflow.active_run() is None
    stored = tracklite.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params["C"] == "0.5"
    assert "training_accuracy_score" in stored.data.metrics
    assert stored.data.metrics["mine"] == 1.0
    assert mlflow.get_tracking_uri() == f"tracklite:{fresh_tracking}"
    assert len(tracklite.search_runs(output_format="list")) == 1


def test_autolog_without_an_active_run_makes_one_in_the_store() -> None:
    tracklite.set_experiment("auto")
    tracklite.autolog(log_models=False, silent=True)
    x, y = _data()
    sklearn_linear.LogisticRegression().fit(x, y)
    last = tracklite.last_active_run()
    assert last is not None
    assert last.info.experiment_id == tracklite.get_experiment_by_name("auto").experiment_id
    assert "training_accuracy_score" in last.data.metrics
    assert last.info.status == "FINISHED"


def test_a_flavor_logs_a_model_that_registers_and_loads() -> None:
    x, y = _data()
    model = sklearn_linear.LogisticRegression().fit(x, y)
    with tracklite.start_run() as run:
        info = tracklite.sklearn.log_model(model, name="model")
    assert info.run_id == run.info.run_id
    version = tracklite.register_model(info.model_uri, "classifier")
    assert version.version == 1
    loaded = tracklite.pyfunc.load_model("models:/classifier/1")
    assert list(loaded.predict(x[:5])) == list(model.predict(x[:5]))
    assert tracklite.models.infer_signature(x, y).inputs is not None
    assert "sklearn" in repr(tracklite.sklearn)


def test_mlflow_reads_a_tracklite_table(store_dir: Path, tracking_uri: str) -> None:
    pytest.importorskip("pandas")
    with tracklite.Store(store_dir).start_run() as run:
        run.log_table({"q": ["what?"], "a": ["this"]}, "qa.json")
    loaded = mlflow.MlflowClient(tracking_uri).load_table("0", "qa.json", run_ids=[run.run_id])
    assert loaded.to_dict("list") == {"q": ["what?"], "a": ["this"]}


def test_without_mlflow_one_clear_error(tmp_path: Path) -> None:
    script = """
import sys
sys.modules["mlflow"] = None  # as if MLflow were not installed
import numpy as np, tracklite
for call in (lambda: tracklite.autolog(),
             lambda: tracklite.sklearn.log_model(object(), name="m")):
    try:
        call()
    except tracklite.MlflowNotInstalledError as e:
        print("ERROR", isinstance(e, ImportError), e)
with tracklite.start_run() as run:
    tracklite.log_table({"a": [1]}, "t.json")
    tracklite.log_image(np.eye(3), "eye.png")
print("logged", sorted(f.path for f in tracklite.MlflowClient().list_artifacts(run.info.run_id)))
"""
    env = dict(os.environ, TRACKLITE_STORE=str(tmp_path / "s"))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 2
    for line in errors:
        assert line.startswith("ERROR True ")
        assert 'pip install "tracklite[mlflow]"' in line
    assert "autolog needs MLflow" in errors[0]
    assert "tracklite.sklearn.log_model needs MLflow" in errors[1]
    assert "logged ['eye.png', 't.json']" in out


def test_a_flavor_answers_private_probes_itself() -> None:
    flavor = tracklite.pyfunc
    assert not hasattr(flavor, "_repr_html_")
    assert not hasattr(flavor, "__wrapped__")
    assert isinstance(flavor.PythonModel, type)  # classes come as they are


def test_images_and_tables_are_written_as_mlflow_writes_them(
    store_dir: Path, tracking_uri: str
) -> None:
    """The same calls through MLflow (on the plugin) and through tracklite
    give the same files, tags and table JSON."""
    pytest.importorskip("PIL")
    pytest.importorskip("pandas")
    image = np.linspace(0, 1, 40 * 30 * 3).reshape(40, 30, 3)
    table = {"text": ["a", "b"], "score": [0.5, 1.5]}

    def log(module: Any) -> str:
        with module.start_run() as run:
            module.log_image(image, key="val/x", step=3)
            module.log_image(image, "static/x.png")
            module.log_table(table, "tables/t.json")
        return str(run.info.run_id)

    theirs = log(mlflow)
    tracklite.set_tracking_uri(tracking_uri)
    ours = log(tracklite)
    store = tracklite.Store(store_dir)

    def shape(run_id: str) -> tuple[list[str], dict[str, str], object]:
        root = Path(store.artifact_dir(run_id))
        names = sorted(  # each image's time and uuid left out
            re.sub(r"\+timestamp\+\d+\+[0-9a-f-]{36}", "+timestamp+T+U", str(p.relative_to(root)))
            for p in root.rglob("*")
            if p.is_file()
        )
        tags = store.get_run(run_id).data.tags
        logged = {k: tags[k] for k in ("mlflow.loggedImages", "mlflow.loggedArtifacts")}
        return names, logged, json.loads((root / "tables/t.json").read_text())

    assert shape(ours) == shape(theirs)


def test_system_metrics_have_mlflows_names(
    store_dir: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow's own monitor (on the plugin) and tracklite's log the same keys."""
    pytest.importorskip("psutil")
    from mlflow.tracking import fluent as mlflow_fluent

    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.05")
    monkeypatch.delenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", raising=False)
    monkeypatch.delenv("MLFLOW_SYSTEM_METRICS_NODE_ID", raising=False)
    deadline = time.monotonic() + 30
    with mlflow.start_run(log_system_metrics=True) as theirs:
        monitor = mlflow_fluent.run_id_to_system_metrics_monitor[theirs.info.run_id]
        while monitor._logging_step < 1:  # one group published (flushed at end_run)
            assert time.monotonic() < deadline, "MLflow's monitor logged nothing in 30 s"
            time.sleep(0.02)
    tracklite.set_tracking_uri(tracking_uri)
    with tracklite.start_run(log_system_metrics=True) as ours:
        store = tracklite.MlflowClient().store
        cpu = "system/cpu_utilization_percentage"
        while len(store.metric_history(ours.info.run_id, cpu).values) == 0:
            assert time.monotonic() < deadline, "tracklite logged no system metric in 30 s"
            time.sleep(0.02)

    def keys(run_id: str) -> set[str]:
        return {k for k in tracklite.get_run(run_id).data.metrics if k.startswith("system/")}

    assert keys(ours.info.run_id) == keys(theirs.info.run_id)
    assert "system/cpu_utilization_percentage" in keys(ours.info.run_id)


def test_runs_line_up_when_autolog_comes_late_and_runs_nest() -> None:
    x, y = _data()
    with tracklite.start_run(run_name="parent") as parent:
        tracklite.autolog(log_models=False, silent=True)  # after the run started
        assert mlflow.active_run().info.run_id == parent.info.run_id
        with tracklite.start_run(run_name="child", nested=True) as child:
            assert mlflow.active_run().info.run_id == child.info.run_id
            sklearn_linear.LogisticRegression(C=2.0).fit(x, y)
        assert mlflow.active_run().info.run_id == parent.info.run_id
    assert mlflow.active_run() is None
    stored = tracklite.get_run(child.info.run_id)
    assert stored.data.params["C"] == "2.0"
    assert stored.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert "C" not in tracklite.get_run(parent.info.run_id).data.params
