"""The fluent API: tracking code written as in MLflow's documentation,
run with ``import tracklite as mlflow``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import tracklite as mlflow
from tracklite import MlflowClient
from tracklite.entities import RunStatus

try:
    import pandas  # noqa: F401
except ImportError:
    HAS_PANDAS = False
else:
    HAS_PANDAS = True


def test_quickstart_logs_params_and_metrics_per_epoch():
    mlflow.set_experiment("MLflow Quickstart")
    params = {"solver": "lbfgs", "max_iter": 1000, "multi_class": "auto", "random_state": 8888}
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        for epoch in range(10):
            mlflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
            mlflow.log_metric("accuracy", 0.5 + epoch * 0.05, step=epoch)
        mlflow.set_tag("Training Info", "Basic LR model for iris data")
        assert mlflow.active_run().info.run_id == run.info.run_id

    assert mlflow.active_run() is None
    stored = mlflow.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.end_time is not None and stored.info.end_time >= stored.info.start_time
    assert stored.data.params == {k: str(v) for k, v in params.items()}
    assert stored.data.metrics == {"loss": pytest.approx(0.1), "accuracy": pytest.approx(0.95)}
    assert stored.data.tags["Training Info"] == "Basic LR model for iris data"
    experiment = mlflow.get_experiment_by_name("MLflow Quickstart")
    assert stored.info.experiment_id == experiment.experiment_id != "0"

    history = MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(10))
    assert history[-1].value == pytest.approx(0.1)


def test_log_metrics_and_params_as_dicts():
    with mlflow.start_run() as run:
        mlflow.log_metrics({"mse": 2500.0, "rmse": 50.0}, step=3)
        mlflow.log_params({"learning_rate": 0.01, "n_estimators": 10, "layers": [64, 32]})
        value = mlflow.log_param("seed", 42)
    assert value == 42
    data = mlflow.get_run(run.info.run_id).data
    assert data.metrics == {"mse": 2500.0, "rmse": 50.0}
    assert data.params == {
        "learning_rate": "0.01",
        "n_estimators": "10",
        "layers": "[64, 32]",
        "seed": "42",
    }


def test_logging_without_a_run_starts_one():
    mlflow.log_metric("m", 1.0)
    run = mlflow.active_run()
    assert run is not None
    mlflow.end_run()
    assert mlflow.get_run(run.info.run_id).data.metrics == {"m": 1.0}
    assert mlflow.last_active_run().info.run_id == run.info.run_id


def test_nested_runs_parent_and_children():
    experiment_id = mlflow.create_experiment("experiment1")
    with mlflow.start_run(
        run_name="PARENT_RUN",
        experiment_id=experiment_id,
        tags={"version": "v1", "priority": "P1"},
        description="parent",
    ) as parent_run:
        mlflow.log_param("parent", "yes")
        with mlflow.start_run(
            run_name="CHILD_RUN", experiment_id=experiment_id, description="child", nested=True
        ) as child_run:
            mlflow.log_param("child", "yes")
            assert mlflow.active_run().info.run_id == child_run.info.run_id
        assert mlflow.active_run().info.run_id == parent_run.info.run_id
        mlflow.log_metric("after_child", 1.0)

    parent = mlflow.get_run(parent_run.info.run_id)
    child = mlflow.get_run(child_run.info.run_id)
    assert parent.data.tags["mlflow.note.content"] == "parent"
    assert parent.data.tags["version"] == "v1"
    assert parent.data.tags["mlflow.runName"] == "PARENT_RUN"
    assert parent.info.run_name == "PARENT_RUN"
    assert parent.data.metrics == {"after_child": 1.0}
    assert child.data.tags["mlflow.parentRunId"] == parent_run.info.run_id
    assert child.data.params == {"child": "yes"}
    assert mlflow.get_parent_run(child_run.info.run_id).info.run_id == parent_run.info.run_id
    assert mlflow.get_parent_run(parent_run.info.run_id) is None

    query = f"tags.mlflow.parentRunId = '{parent_run.info.run_id}'"
    children = mlflow.search_runs(
        experiment_ids=[experiment_id], filter_string=query, output_format="list"
    )
    assert [r.info.run_id for r in children] == [child_run.info.run_id]

    with mlflow.start_run(
        run_name="NEW_CHILD_RUN", experiment_id=experiment_id, parent_run_id=parent_run.info.run_id
    ) as new_child:
        mlflow.log_param("new-child", "yes")
    tags = mlflow.get_run(new_child.info.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent_run.info.run_id


def test_starting_a_second_run_needs_nested():
    with mlflow.start_run() as run:
        with pytest.raises(mlflow.MlflowException, match="nested=True") as e:
            mlflow.start_run()
        assert run.info.run_id in str(e.value)
        assert mlflow.active_run().info.run_id == run.info.run_id


def test_nested_under_another_parent_is_refused():
    with mlflow.start_run() as outer:
        other = MlflowClient().create_run("0")
        with pytest.raises(mlflow.InvalidValueError, match="parent_run_id"):
            mlflow.start_run(nested=True, parent_run_id=other.info.run_id)
        assert mlflow.active_run().info.run_id == outer.info.run_id


def test_exception_in_with_block_ends_the_run_failed():
    with pytest.raises(ZeroDivisionError):
        with mlflow.start_run() as run:
            mlflow.log_metric("before", 1.0)
            1 / 0  # noqa: B018
    assert mlflow.active_run() is None
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_end_run_with_status_and_last_active_run():
    mlflow.start_run()
    run = mlflow.active_run()
    assert run.info.status == "RUNNING"
    mlflow.end_run(status="KILLED")
    assert mlflow.active_run() is None
    assert mlflow.get_run(run.info.run_id).info.status == "KILLED"
    last = mlflow.last_active_run()
    assert last.info.run_id == run.info.run_id and last.info.status == "KILLED"
    mlflow.end_run()  # no active run: nothing to do
    with pytest.raises(mlflow.InvalidValueError):
        mlflow.end_run("DONE")


def test_end_run_accepts_run_status_codes():
    with mlflow.start_run() as run:
        pass
    mlflow.start_run(run_id=run.info.run_id)
    mlflow.end_run(RunStatus.to_string(RunStatus.FAILED))
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_resume_a_run_by_id():
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_metric("loss", 1.0, step=0)
    with mlflow.start_run(run_id=run.info.run_id, tags={"resumed": "yes"}) as again:
        assert again.info.run_id == run.info.run_id
        assert mlflow.get_run(run.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("loss", 0.5, step=1)
    stored = mlflow.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.tags["resumed"] == "yes"
    assert stored.data.metrics["loss"] == 0.5
    assert len(MlflowClient().get_metric_history(run.info.run_id, "loss")) == 2


def test_resume_from_mlflow_run_id_environment(monkeypatch):
    run = MlflowClient().create_run("0")
    MlflowClient().set_terminated(run.info.run_id)
    monkeypatch.setenv("MLFLOW_RUN_ID", run.info.run_id)
    with mlflow.start_run() as active:
        assert active.info.run_id == run.info.run_id
    assert "MLFLOW_RUN_ID" not in os.environ


def test_resume_of_a_deleted_run_is_refused():
    with mlflow.start_run() as run:
        pass
    mlflow.delete_run(run.info.run_id)
    with pytest.raises(mlflow.InvalidStateError, match="deleted"):
        mlflow.start_run(run_id=run.info.run_id)
    mlflow.restore_run(run.info.run_id)
    with mlflow.start_run(run_id=run.info.run_id):
        pass


def test_tags_set_and_deleted():
    with mlflow.start_run() as run:
        mlflow.set_tags({"release.candidate": "RC1", "release.version": "2.2.0", "n": 3})
        mlflow.set_tag("engineering", "ML Platform")
        mlflow.delete_tag("release.candidate")
        with pytest.raises(mlflow.NotFoundError):
            mlflow.delete_tag("no.such.tag")
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert tags["release.version"] == "2.2.0" and tags["n"] == "3"
    assert tags["engineering"] == "ML Platform"
    assert "release.candidate" not in tags
    assert tags["mlflow.source.type"] == "LOCAL"


def test_set_experiment_by_name_creates_it_once():
    first = mlflow.set_experiment("Social NLP Experiments")
    assert first.name == "Social NLP Experiments" and first.lifecycle_stage == "active"
    again = mlflow.set_experiment("Social NLP Experiments")
    assert again.experiment_id == first.experiment_id
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == first.experiment_id
    assert os.environ["MLFLOW_EXPERIMENT_ID"] == first.experiment_id

    by_id = mlflow.set_experiment(experiment_id="0")
    assert by_id.name == "Default"
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == "0"


def test_set_experiment_errors():
    with pytest.raises(mlflow.InvalidValueError):
        mlflow.set_experiment()
    with pytest.raises(mlflow.InvalidValueError):
        mlflow.set_experiment("a", experiment_id="0")
    with pytest.raises(mlflow.NotFoundError):
        mlflow.set_experiment(experiment_id="12345")
    exp_id = mlflow.create_experiment("gone")
    mlflow.delete_experiment(exp_id)
    with pytest.raises(mlflow.MlflowException, match="deleted"):
        mlflow.set_experiment("gone")
    mlflow.restore_experiment(exp_id)
    assert mlflow.set_experiment("gone").experiment_id == exp_id


def test_experiment_from_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    with mlflow.start_run() as run:
        pass
    exp = mlflow.get_experiment(run.info.experiment_id)
    assert exp.name == "from-env"

    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    other = mlflow.create_experiment("by-id")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", other)
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == other

    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "999")
    with pytest.raises(mlflow.InvalidValueError, match="MLFLOW_EXPERIMENT_ID"):
        mlflow.start_run()


def test_experiment_tags():
    exp = mlflow.set_experiment("tagged")
    mlflow.set_experiment_tag("team", "vision")
    mlflow.set_experiment_tags({"priority": 1, "owner": "ana"})
    mlflow.delete_experiment_tag("owner")
    assert mlflow.get_experiment(exp.experiment_id).tags == {"team": "vision", "priority": "1"}


def test_artifacts_files_text_and_dicts(tmp_path: Path):
    features = tmp_path / "features.txt"
    features.write_text("rooms, zipcode, median_price, school_rating, transport")
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "sub" / "b.csv").write_text("x,y\n3,4\n")

    with mlflow.start_run() as run:
        mlflow.log_artifact(str(features))
        mlflow.log_artifact(features, artifact_path="features")
        mlflow.log_artifacts(str(folder), artifact_path="data")
        mlflow.log_text("text1, text2", "notes/file1.txt")
        mlflow.log_text("<h1>header</h1>", "index.html")
        mlflow.log_dict({"k": ["v1", "v2"], "when": tmp_path}, "config.json")
        uri = mlflow.get_artifact_uri()
        assert mlflow.get_artifact_uri("config.json") == uri + "/config.json"

    client = MlflowClient()
    top = {f.path: f for f in client.list_artifacts(run.info.run_id)}
    assert set(top) == {"features.txt", "features", "data", "notes", "index.html", "config.json"}
    assert top["data"].is_dir and top["data"].file_size is None
    assert top["features.txt"].file_size == features.stat().st_size
    sub = [f.path for f in client.list_artifacts(run.info.run_id, "data/sub")]
    assert sub == ["data/sub/b.csv"]

    local = Path(client.download_artifacts(run.info.run_id, "config.json", str(tmp_path / "dl")))
    loaded = json.loads(local.read_text())
    assert loaded == {"k": ["v1", "v2"], "when": str(tmp_path)}
    notes = Path(client.download_artifacts(run.info.run_id, "notes", str(tmp_path / "dl2")))
    assert (notes / "file1.txt").read_text() == "text1, text2"
    assert Path(uri).is_dir() and (Path(uri) / "data" / "sub" / "b.csv").exists()


def test_reading_artifacts_back(tmp_path: Path):
    with mlflow.start_run() as run:
        mlflow.log_text("hello", "texts/hello.txt")
        mlflow.log_dict({"lr": 0.1}, "params.json")
        uri = mlflow.get_artifact_uri("params.json")
    run_id = run.info.run_id
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/texts/hello.txt") == "hello"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/params.json") == {"lr": 0.1}
    assert mlflow.artifacts.load_dict(uri) == {"lr": 0.1}
    assert [f.path for f in mlflow.artifacts.list_artifacts(f"runs:/{run_id}/texts")] == [
        "texts/hello.txt"
    ]
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="texts", dst_path=str(tmp_path / "dl")
    )
    assert (Path(local) / "hello.txt").read_text() == "hello"
    copied = mlflow.artifacts.download_artifacts(uri, dst_path=tmp_path / "dl2")
    assert json.loads(Path(copied).read_text()) == {"lr": 0.1}
    with pytest.raises(mlflow.NotFoundError):
        mlflow.artifacts.load_text(f"runs:/{run_id}/missing.txt")
    with pytest.raises(mlflow.InvalidValueError):
        mlflow.artifacts.download_artifacts()


def test_log_dict_yaml(tmp_path: Path):
    with mlflow.start_run() as run:
        mlflow.log_dict({"a": 1, "b": [1, 2]}, "conf.yaml")
    data = mlflow.MlflowClient().store.read_artifact(run.info.run_id, "conf.yaml").decode()
    try:
        import yaml
    except ImportError:
        assert json.loads(data) == {"a": 1, "b": [1, 2]}  # JSON is valid YAML
    else:
        assert yaml.safe_load(data) == {"a": 1, "b": [1, 2]}
        assert "{" not in data  # block style, as MLflow writes it


def test_log_figure():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        with mlflow.start_run():
            with pytest.raises(mlflow.InvalidValueError, match="matplotlib"):
                mlflow.log_figure(object(), "figure.png")
        return
    fig, ax = plt.subplots()
    ax.plot([0, 1], [2, 3])
    with mlflow.start_run() as run:
        mlflow.log_figure(fig, "plots/figure.png")
    files = MlflowClient().list_artifacts(run.info.run_id, "plots")
    assert [f.path for f in files] == ["plots/figure.png"] and files[0].file_size > 0


def test_log_input_dict_and_duck_typed_dataset():
    class Source:
        def to_json(self):
            return json.dumps({"uri": "s3://bucket/iris.csv"})

        def _get_source_type(self):
            return "s3"

    class PandasLikeDataset:
        name = "iris"
        digest = "abc123"
        source = Source()
        schema = {"mlflow_colspec": [{"name": "x", "type": "double"}]}
        profile = None

    with mlflow.start_run() as run:
        mlflow.log_input(PandasLikeDataset(), context="training", tags={"split": "train"})
        mlflow.log_input(
            {"name": "eval", "digest": "d2", "source_type": "local", "source": "/data/eval.csv"},
            context="evaluation",
        )
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    by_name = {i.dataset.name: i for i in inputs}
    assert set(by_name) == {"iris", "eval"}
    iris = by_name["iris"]
    assert iris.dataset.source_type == "s3" and "iris.csv" in iris.dataset.source
    assert json.loads(iris.dataset.schema)["mlflow_colspec"][0]["name"] == "x"
    tags = {t.key: t.value for t in iris.tags}
    assert tags == {"mlflow.data.context": "training", "split": "train"}
    with pytest.raises(mlflow.InvalidValueError):
        mlflow.log_input(None, context="training")


def test_datasets_from_pandas_and_numpy():
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"sepal_length": [5.1, 4.9], "petal_count": [3, 4], "species": ["a", "b"]})
    dataset = mlflow.data.from_pandas(df, source="data/iris.csv", name="iris", targets="species")
    features = mlflow.data.from_numpy(np.ones((4, 3)), targets=np.zeros(4))
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_input(features, context="evaluation")
        mlflow.log_metric("acc", 0.9, dataset=dataset)  # already an input: recorded once
    inputs = {i.dataset.name: i for i in mlflow.get_run(run.info.run_id).inputs.dataset_inputs}
    assert set(inputs) == {"iris", "dataset"}
    iris = inputs["iris"].dataset
    assert iris.source_type == "local" and json.loads(iris.source) == {"uri": "data/iris.csv"}
    columns = json.loads(iris.schema)["mlflow_colspec"]
    assert [(c["name"], c["type"]) for c in columns] == [
        ("sepal_length", "double"),
        ("petal_count", "long"),
        ("species", "string"),
    ]
    assert json.loads(iris.profile) == {"num_rows": 2, "num_elements": 6}
    assert len(iris.digest) == 8 and iris.digest == dataset.digest
    assert mlflow.data.from_pandas(df).digest == dataset.digest  # same data, same digest
    assert mlflow.data.from_pandas(df.head(1)).digest != dataset.digest
    assert json.loads(inputs["dataset"].dataset.profile)["features_shape"] == [4, 3]
    with pytest.raises(mlflow.InvalidValueError, match="targets"):
        mlflow.data.from_pandas(df, targets="missing")


def test_search_runs_pandas_and_list():
    mlflow.set_experiment("search-me")
    for i in range(3):
        with mlflow.start_run(run_name=f"r{i}"):
            mlflow.log_metric("acc", 0.8 + i / 100)
            mlflow.log_param("i", i)
    runs = mlflow.search_runs(output_format="list", order_by=["metrics.acc DESC"])
    assert [r.data.params["i"] for r in runs] == ["2", "1", "0"]
    if HAS_PANDAS:
        df = mlflow.search_runs(filter_string="metrics.acc > 0.805")
        assert sorted(df["params.i"]) == ["1", "2"]
        assert list(df.columns[:6]) == [
            "run_id",
            "experiment_id",
            "status",
            "artifact_uri",
            "start_time",
            "end_time",
        ]


def test_log_metric_to_a_run_by_id_and_conversions():
    with mlflow.start_run() as run:
        pass
    mlflow.log_metric("late", 2.0, step=4, run_id=run.info.run_id)
    mlflow.log_metrics({"x": 1, "y": True}, step=2.0, run_id=run.info.run_id, timestamp=1.7e12)
    stored = mlflow.get_run(run.info.run_id).data
    assert stored.metrics == {"late": 2.0, "x": 1.0, "y": 1.0}
    hist = MlflowClient().get_metric_history(run.info.run_id, "x")
    assert [(m.step, m.timestamp) for m in hist] == [(2, 1_700_000_000_000)]
    assert mlflow.active_run() is None


def test_fast_path_conversions_fall_back_cleanly():
    np = pytest.importorskip("numpy")
    with mlflow.start_run() as run:
        mlflow.log_metric("a", np.float32(0.5), step=np.int64(3))
        mlflow.log_metric("a", 1, step=4.0)  # integral float step: accepted
        mlflow.log_metric("a", float("nan"), step=5)  # NaN values are legal
        mlflow.log_metrics({"b": np.float64(2.0)}, step=1)
    hist = MlflowClient().get_metric_history(run.info.run_id, "a")
    assert [m.step for m in hist] == [3, 4, 5]
    assert hist[0].value == 0.5 and hist[2].value != hist[2].value


def test_active_runs_are_per_thread():
    seen = {}

    def worker():
        seen["active"] = mlflow.active_run()
        with mlflow.start_run() as run:
            mlflow.log_metric("thread", 1.0)
        seen["run"] = run.info.run_id

    with mlflow.start_run() as main_run:
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert mlflow.active_run().info.run_id == main_run.info.run_id
    assert seen["active"] is None
    assert seen["run"] != main_run.info.run_id
    assert mlflow.get_run(seen["run"]).data.metrics == {"thread": 1.0}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_has_no_active_run():
    with mlflow.start_run():
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report and leave without cleanup
            os.close(r)
            os.write(w, b"none" if mlflow.active_run() is None else b"some")
            os._exit(0)
        os.close(w)
        answer = os.read(r, 16)
        os.close(r)
        os.waitpid(pid, 0)
    assert answer == b"none"


def test_run_still_active_at_exit_is_finished(tmp_path: Path):
    store = tmp_path / "exit-store"
    script = textwrap.dedent(
        """
        import tracklite as mlflow
        mlflow.start_run()
        mlflow.log_metric("m", 1.0)
        with open("run_id.txt", "w") as f:
            f.write(mlflow.active_run().info.run_id)
        """
    )
    env = dict(os.environ, TRACKLITE_STORE=str(store))
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True)
    run_id = (tmp_path / "run_id.txt").read_text()
    run = MlflowClient(str(store)).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.metrics == {"m": 1.0}


def test_tracking_uri_forms(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri("tracklite:./relative-store")
    assert mlflow.get_tracking_uri() == "tracklite:./relative-store"
    with mlflow.start_run():
        mlflow.log_metric("m", 1.0)
    assert (tmp_path / "relative-store" / "index.sqlite").exists()
    assert os.environ["TRACKLITE_STORE"] == str(tmp_path / "relative-store")

    mlflow.set_tracking_uri(f"tracklite://{tmp_path}/absolute-store")
    with mlflow.start_run():
        pass
    assert (tmp_path / "absolute-store" / "index.sqlite").exists()

    mlflow.set_tracking_uri(tmp_path / "path-store")
    mlflow.create_experiment("x")
    assert (tmp_path / "path-store" / "index.sqlite").exists()
    assert mlflow.is_tracking_uri_set()

    mlflow.set_tracking_uri(None)  # back to the environment (here: none) and the default
    assert "TRACKLITE_STORE" not in os.environ
    assert mlflow.get_tracking_uri().endswith("/tracklite-runs")


def test_default_store_and_environment_precedence(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACKLITE_STORE")
    assert not mlflow.is_tracking_uri_set()
    assert mlflow.get_tracking_uri().startswith("tracklite:///")
    assert mlflow.get_tracking_uri().endswith("/" + mlflow.DEFAULT_STORE_DIR)
    with mlflow.start_run():
        pass
    assert (tmp_path / "tracklite-runs" / "index.sqlite").exists()

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "tracklite:mlflow-env-store")
    assert mlflow.get_tracking_uri() == "tracklite:mlflow-env-store"
    mlflow.create_experiment("e1")
    assert (tmp_path / "mlflow-env-store" / "index.sqlite").exists()

    monkeypatch.setenv("TRACKLITE_STORE", str(tmp_path / "tl-env-store"))
    mlflow.create_experiment("e2")
    assert (tmp_path / "tl-env-store" / "index.sqlite").exists()


@pytest.mark.parametrize(
    "uri",
    ["http://localhost:5000", "databricks", "sqlite:///mlflow.db", "tracklite://host/path"],
)
def test_remote_tracking_uris_are_refused(uri):
    with pytest.raises(mlflow.InvalidValueError, match="tracklite"):
        mlflow.set_tracking_uri(uri)


def test_mlflow_file_store_folder_is_not_written_into(tmp_path: Path):
    mlruns = tmp_path / "mlruns"
    (mlruns / "0").mkdir(parents=True)
    (mlruns / "0" / "meta.yaml").write_text("name: Default\n")
    with pytest.raises(mlflow.InvalidValueError, match="MLflow file store"):
        mlflow.set_tracking_uri(f"file://{mlruns}")
    assert not (mlruns / "index.sqlite").exists()


def test_search_experiments_and_delete():
    for name in ("vision-a", "vision-b", "nlp"):
        mlflow.create_experiment(name, tags={"team": name.split("-")[0]})
    names = {e.name for e in mlflow.search_experiments(filter_string="name LIKE 'vision-%'")}
    assert names == {"vision-a", "vision-b"}
    nlp = mlflow.get_experiment_by_name("nlp")
    mlflow.delete_experiment(nlp.experiment_id)
    active = {e.name for e in mlflow.search_experiments()}
    assert "nlp" not in active and "Default" in active
    deleted = mlflow.search_experiments(view_type=mlflow.entities.ViewType.DELETED_ONLY)
    assert [e.name for e in deleted] == ["nlp"]
    assert len(mlflow.search_experiments(max_results=2)) == 2
    assert mlflow.get_experiment_by_name("missing") is None


def test_flush_async_logging_makes_points_visible():
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 3.0)
        mlflow.flush_async_logging()
        assert mlflow.get_run(run.info.run_id).data.metrics == {"m": 3.0}
