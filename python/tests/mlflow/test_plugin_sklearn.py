"""scikit-learn with MLflow on a ``tracklite:`` URI, unchanged: autologging
of a real (small) fit, ``mlflow.sklearn.log_model``, and loading the model
back with ``mlflow.pyfunc.load_model("runs:/<id>/model")``."""

from __future__ import annotations

from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402


@pytest.fixture
def iris():
    return load_iris(return_X_y=True, as_frame=True)


@pytest.fixture
def autolog():
    yield mlflow.sklearn.autolog
    mlflow.sklearn.autolog(disable=True)


def test_autolog_params_metrics_and_dataset(tracking_uri: str, iris, autolog) -> None:
    X, y = iris
    autolog(log_models=False)
    with mlflow.start_run() as run:
        LogisticRegression(max_iter=300, C=0.5).fit(X, y)
    got = mlflow.get_run(run.info.run_id)
    assert got.data.params["C"] == "0.5" and got.data.params["max_iter"] == "300"
    assert got.data.metrics["training_accuracy_score"] > 0.9
    assert {"training_f1_score", "training_log_loss"} <= set(got.data.metrics)
    assert got.data.tags["estimator_class"].endswith("LogisticRegression")
    inputs = got.inputs.dataset_inputs
    assert len(inputs) == 1
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "train"


def test_autolog_logs_the_model(tracking_uri: str, iris, autolog) -> None:
    X, y = iris
    autolog()
    with mlflow.start_run() as run:
        DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    got = mlflow.get_run(run.info.run_id)
    assert got.data.metrics["training_accuracy_score"] > 0.9
    outputs = got.outputs.model_outputs
    assert len(outputs) == 1
    model = mlflow.get_logged_model(outputs[0].model_id)
    assert model.source_run_id == run.info.run_id
    assert model.params["max_depth"] == "3"
    assert {m.key for m in model.metrics} >= {"training_accuracy_score"}
    loaded = mlflow.pyfunc.load_model(f"models:/{model.model_id}")
    assert list(loaded.predict(X.head(3))) == list(y.head(3))


def test_log_model_and_load_it_from_the_run(tracking_uri: str, iris, tmp_path: Path) -> None:
    X, y = iris
    clf = LogisticRegression(max_iter=300).fit(X, y)
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("accuracy", clf.score(X, y))
        info = mlflow.sklearn.log_model(clf, name="model", input_example=X.head(2))
    run_id = run.info.run_id
    assert info.model_id is not None
    assert info.artifact_path.startswith("file://")

    loaded = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    assert list(loaded.predict(X.head(5))) == list(clf.predict(X.head(5)))
    native = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    assert type(native) is LogisticRegression

    # The model's files are plain files in the store, and download.
    local = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model", dst_path=tmp_path))
    assert (local / "MLmodel").is_file()
    assert any(f.name.startswith("model.") for f in local.iterdir())  # the serialized model

    model = mlflow.get_logged_model(info.model_id)
    assert model.name == "model" and model.source_run_id == run_id
    assert model.params == {"C": "1.0"}
    assert [m.key for m in model.metrics] == ["accuracy"]
    found = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string="name = 'model'",
        output_format="list",
    )
    assert [m.model_id for m in found] == [info.model_id]
    # log_model re-logs the run's metrics for the model: the run keeps one point.
    assert len(mlflow.MlflowClient().get_metric_history(run_id, "accuracy")) == 1
