"""MLflow's Model Registry guide, run on a ``tracklite:`` store: the guide's
code is unchanged but for the URI, and every step reads back what the
registry holds (descriptions, tags, aliases, stages, versions, sources and
run ids) and the error codes of the refusals.

What it proves, step by step:

* ``mlflow.sklearn.log_model(..., registered_model_name=...)`` creates the
  registered model and its version 1, and the model loads back through
  ``models:/iris-classifier/1``, ``/latest``, ``@champion`` and
  ``/Production`` with the trained model's predictions;
* registering from a run (``runs:/<id>/model``) and from a logged model
  (``models:/m-<id>``), with the run id and source MLflow records;
* descriptions and tags of models and versions; champion/challenger
  aliases, a promotion, and an approval workflow whose quality gate reads
  the metrics of a version's run; stage transitions that archive the
  former Production version, ``get_latest_versions`` by stage, and a
  retrying transition helper;
* searches by name, run id and tags (``=``, ``LIKE``, ``ILIKE``, ``IN``);
  renaming (versions and aliases follow), deleting a version (its aliases
  go, its number is never reused) and deleting a model;
* prompts: ``mlflow.genai.register_prompt``/``load_prompt`` by version and
  alias, and prompts kept out of ``search_registered_models``.

The registry is the tracking store itself (MLflow's default, no registry
URI set). To check this file against MLflow's own registry, set
``TRACKLITE_TEST_REGISTRY_URI`` to a URI; ``{tmp}`` in it is the test's
temporary folder, e.g. ``TRACKLITE_TEST_REGISTRY_URI='sqlite:///{tmp}/reg.db'``.

One change to the guide's environment, unrelated to the registry:
``log_model`` infers the model's pip requirements by importing it in a
subprocess (seconds per model); the tests give it the flavor's default
requirements instead (``fast_requirements``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

REGISTRY_ENV = "TRACKLITE_TEST_REGISTRY_URI"
MODEL = "iris-classifier"
ACCURACY_GATE = 0.9


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture
def registry_uri(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The registry: the tracking store (MLflow's default), or the URI of
    ``TRACKLITE_TEST_REGISTRY_URI`` with ``{tmp}`` the test's folder."""
    from mlflow.tracking._model_registry import utils as registry_utils

    template = os.environ.get(REGISTRY_ENV)
    if template:
        uri = template.format(tmp=tmp_path)
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
        mlflow.set_registry_uri(uri)
    else:
        monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
        uri = tracking_uri
    assert mlflow.get_registry_uri() == uri
    yield uri
    registry_utils._registry_uri = None
    registry_utils._get_store_registry()._get_store_with_resolved_uri.cache_clear()


@pytest.fixture(autouse=True)
def fast_requirements(monkeypatch: pytest.MonkeyPatch) -> None:
    """``log_model`` takes the flavor's default pip requirements instead of
    inferring them in a subprocess."""

    def defaults(path: str, flavor: str, fallback: Any = None, **_: Any) -> Any:
        return fallback

    monkeypatch.setattr(mlflow.models, "infer_pip_requirements", defaults)


@pytest.fixture(scope="module")
def iris() -> tuple[Any, Any]:
    return load_iris(return_X_y=True, as_frame=True)


@pytest.fixture(scope="module")
def trained(iris: tuple[Any, Any]) -> LogisticRegression:
    X, y = iris
    return LogisticRegression(max_iter=300).fit(X, y)


@pytest.fixture
def client(registry_uri: str) -> MlflowClient:
    return MlflowClient()


class Logged(NamedTuple):
    """A model logged (and registered) by the guide's training step."""

    run_id: str
    model_id: str
    version: int


def _train_and_register(model: Any, X: Any, y: Any) -> Logged:
    """The guide's training step: fit metrics and the model in a run, the
    model registered as ``iris-classifier`` as it is logged."""
    with mlflow.start_run() as run:
        mlflow.log_params(model.get_params())
        mlflow.log_metric("accuracy", model.score(X, y))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=MODEL,
            input_example=X.head(3),
        )
    return Logged(run.info.run_id, info.model_id, info.registered_model_version)


@pytest.fixture
def logged(registry_uri: str, iris: tuple[Any, Any], trained: LogisticRegression) -> Logged:
    """Version 1 of ``iris-classifier``, logged by the guide's training step."""
    X, y = iris
    return _train_and_register(trained, X, y)


def _error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(MlflowException) as info:
        call()
    return str(info.value.error_code)


def _predictions(uri: str, X: Any) -> list[int]:
    return [int(p) for p in mlflow.pyfunc.load_model(uri).predict(X)]


# --------------------------------------------------------------------------
# Registering
# --------------------------------------------------------------------------


def test_log_model_registers_version_one(
    client: MlflowClient, logged: Logged, iris: tuple[Any, Any], trained: LogisticRegression
) -> None:
    X, _ = iris
    assert logged.version == 1
    model = client.get_registered_model(MODEL)
    assert model.name == MODEL
    assert model.description in (None, "")
    assert model.tags == {} and model.aliases == {}
    assert [(v.current_stage, v.version) for v in model.latest_versions] == [("None", 1)]

    version = client.get_model_version(MODEL, 1)
    assert version.name == MODEL and version.version == 1
    assert version.run_id == logged.run_id
    assert version.source == f"models:/{logged.model_id}"
    assert version.status == "READY"
    assert version.current_stage == "None"
    assert version.aliases == [] and version.tags == {}
    # The version's files are the logged model's.
    artifacts = mlflow.get_logged_model(logged.model_id).artifact_location
    assert client.get_model_version_download_uri(MODEL, 1) == artifacts

    expected = [int(p) for p in trained.predict(X)]
    assert _predictions(f"models:/{MODEL}/1", X) == expected
    assert _predictions(f"models:/{MODEL}/latest", X) == expected


def test_register_from_a_run_and_from_a_logged_model(client: MlflowClient, logged: Logged) -> None:
    from_run = mlflow.register_model(f"runs:/{logged.run_id}/model", MODEL)
    assert (from_run.name, from_run.version) == (MODEL, 2)
    # The run holds no files at "model": MLflow registers its logged model.
    assert from_run.source == f"models:/{logged.model_id}"
    assert from_run.run_id == logged.run_id

    from_model = mlflow.register_model(f"models:/{logged.model_id}", MODEL)
    assert from_model.version == 3
    assert from_model.source == f"models:/{logged.model_id}"
    # The run comes from the logged model.
    assert client.get_model_version(MODEL, 3).run_id == logged.run_id

    direct = client.create_model_version(
        MODEL, f"runs:/{logged.run_id}/model", run_id=logged.run_id, description="by hand"
    )
    assert direct.version == 4
    assert direct.source == f"runs:/{logged.run_id}/model"
    assert client.get_model_version_download_uri(MODEL, 4) == f"runs:/{logged.run_id}/model"
    assert client.get_model_version(MODEL, 4).description == "by hand"

    model = client.get_registered_model(MODEL)
    assert [(v.current_stage, v.version) for v in model.latest_versions] == [("None", 4)]
    found = client.search_model_versions(f"run_id = '{logged.run_id}'")
    assert sorted(v.version for v in found) == [1, 2, 3, 4]

    # Registering under a new name creates that model.
    other = mlflow.register_model(f"models:/{logged.model_id}", "iris-copy")
    assert (other.name, other.version) == ("iris-copy", 1)
    assert _error_code(lambda: client.create_registered_model(MODEL)) == "RESOURCE_ALREADY_EXISTS"


# --------------------------------------------------------------------------
# Descriptions and tags
# --------------------------------------------------------------------------


def test_descriptions_and_tags(client: MlflowClient, logged: Logged) -> None:
    updated = client.update_registered_model(
        MODEL, description="Classifies iris flowers into three species."
    )
    assert updated.description == "Classifies iris flowers into three species."
    version = client.update_model_version(MODEL, 1, description="LogisticRegression, max_iter=300.")
    assert version.description == "LogisticRegression, max_iter=300."

    client.set_registered_model_tag(MODEL, "task", "classification")
    client.set_registered_model_tag(MODEL, "team", "botany")
    client.set_model_version_tag(MODEL, "1", "validation_status", "pending")
    client.set_model_version_tag(MODEL, "1", "framework", "sklearn")
    client.set_registered_model_tag(MODEL, "team", "plants")  # a tag is replaced

    model = client.get_registered_model(MODEL)
    assert model.description == "Classifies iris flowers into three species."
    assert model.tags == {"task": "classification", "team": "plants"}
    version = client.get_model_version(MODEL, 1)
    assert version.description == "LogisticRegression, max_iter=300."
    assert version.tags == {"validation_status": "pending", "framework": "sklearn"}

    client.delete_registered_model_tag(MODEL, "team")
    client.delete_model_version_tag(MODEL, "1", "framework")
    assert client.get_registered_model(MODEL).tags == {"task": "classification"}
    assert client.get_model_version(MODEL, 1).tags == {"validation_status": "pending"}
    # Deleting a tag that is not there is allowed.
    client.delete_model_version_tag(MODEL, "1", "framework")

    missing = "RESOURCE_DOES_NOT_EXIST"
    assert _error_code(lambda: client.set_model_version_tag(MODEL, "9", "k", "v")) == missing
    assert _error_code(lambda: client.set_registered_model_tag("nope", "k", "v")) == missing
    assert _error_code(lambda: client.update_model_version(MODEL, 9, "x")) == missing
    assert _error_code(lambda: client.update_registered_model("nope", "x")) == missing


# --------------------------------------------------------------------------
# Aliases
# --------------------------------------------------------------------------


def test_champion_and_challenger_aliases(
    client: MlflowClient, logged: Logged, iris: tuple[Any, Any], trained: LogisticRegression
) -> None:
    X, _ = iris
    challenger = mlflow.register_model(f"runs:/{logged.run_id}/model", MODEL)
    assert challenger.version == 2

    client.set_registered_model_alias(MODEL, "champion", 1)
    client.set_registered_model_alias(MODEL, "challenger", 2)
    assert client.get_registered_model(MODEL).aliases == {"champion": 1, "challenger": 2}
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert (champion.version, champion.aliases) == (1, ["champion"])
    assert client.get_model_version_by_alias(MODEL, "challenger").version == 2
    assert client.get_model_version(MODEL, 2).aliases == ["challenger"]
    assert _predictions(f"models:/{MODEL}@champion", X) == [int(p) for p in trained.predict(X)]

    # The challenger wins: it becomes the champion, the challenger alias goes.
    client.set_registered_model_alias(MODEL, "champion", 2)
    client.delete_registered_model_alias(MODEL, "challenger")
    assert client.get_registered_model(MODEL).aliases == {"champion": 2}
    assert client.get_model_version(MODEL, 1).aliases == []
    assert client.get_model_version(MODEL, 2).aliases == ["champion"]
    assert client.get_model_version_by_alias(MODEL, "champion").version == 2
    # Two aliases on one version.
    client.set_registered_model_alias(MODEL, "stable", 2)
    assert sorted(client.get_model_version(MODEL, 2).aliases) == ["champion", "stable"]

    invalid = "INVALID_PARAMETER_VALUE"
    assert _error_code(lambda: client.get_model_version_by_alias(MODEL, "challenger")) == invalid
    assert _error_code(lambda: client.set_registered_model_alias(MODEL, "latest", 1)) == invalid
    assert _error_code(lambda: client.set_registered_model_alias(MODEL, "v1", 1)) == invalid
    assert _error_code(lambda: client.set_registered_model_alias(MODEL, "a b", 1)) == invalid
    missing = "RESOURCE_DOES_NOT_EXIST"
    assert _error_code(lambda: client.set_registered_model_alias(MODEL, "next", 7)) == missing
    assert _error_code(lambda: client.set_registered_model_alias("nope", "next", 1)) == missing
    assert _error_code(lambda: client.get_model_version_by_alias("nope", "champion")) == missing
    # "latest" is the highest version, whatever its stage.
    assert client.get_model_version_by_alias(MODEL, "latest").version == 2


def _quality_gate(client: MlflowClient, name: str, version: int) -> bool:
    """The guide's gate: approves a pending version whose run's accuracy
    reaches ACCURACY_GATE (tag ``validation_status=approved`` and alias
    ``champion``), else rejects it."""
    mv = client.get_model_version(name, version)
    if mv.tags.get("validation_status") != "pending":
        return False
    accuracy = client.get_run(mv.run_id).data.metrics.get("accuracy", 0.0)
    if accuracy >= ACCURACY_GATE:
        client.set_model_version_tag(name, version, "validation_status", "approved")
        client.set_registered_model_alias(name, "champion", version)
        return True
    client.set_model_version_tag(name, version, "validation_status", "rejected")
    return False


def test_approval_workflow_with_quality_gates(
    client: MlflowClient, logged: Logged, iris: tuple[Any, Any]
) -> None:
    X, y = iris
    # A weak candidate: it always answers the most frequent species.
    weak_run = _train_and_register(DummyClassifier(strategy="most_frequent").fit(X, y), X, y).run_id
    assert client.get_run(weak_run).data.metrics["accuracy"] < ACCURACY_GATE

    for version in (1, 2):
        client.set_model_version_tag(MODEL, version, "validation_status", "pending")
    assert _quality_gate(client, MODEL, 1) is True
    assert _quality_gate(client, MODEL, 2) is False
    assert _quality_gate(client, MODEL, 2) is False  # no longer pending

    assert client.get_model_version(MODEL, 1).tags["validation_status"] == "approved"
    assert client.get_model_version(MODEL, 2).tags["validation_status"] == "rejected"
    assert client.get_model_version(MODEL, 2).run_id == weak_run
    assert client.get_registered_model(MODEL).aliases == {"champion": 1}
    approved = client.search_model_versions(
        f"name = '{MODEL}' AND tags.validation_status = 'approved'"
    )
    assert [(v.version, v.run_id) for v in approved] == [(1, logged.run_id)]
    rejected = client.search_model_versions("tags.validation_status = 'rejected'")
    assert [v.version for v in rejected] == [2]


# --------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------


def safe_transition(
    client: Any,
    name: str,
    version: int,
    stage: str,
    *,
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None],
) -> Any:
    """The guide's retrying transition: retries an ``MlflowException`` with
    exponential backoff (``sleep`` waits), archiving the former holder of
    the stage, and checks the version ends in ``stage``."""
    for attempt in range(attempts):
        try:
            mv = client.transition_model_version_stage(
                name, version, stage, archive_existing_versions=True
            )
        except MlflowException:
            if attempt == attempts - 1:
                raise
            sleep(backoff * 2**attempt)
            continue
        assert mv.current_stage == stage, (mv.current_stage, stage)
        return mv
    raise AssertionError("unreachable")


class FlakyClient:
    """A client whose first ``failures`` transitions fail as a busy server's
    would; everything else goes to the real client."""

    def __init__(self, client: MlflowClient, failures: int) -> None:
        self._client = client
        self._failures = failures

    def transition_model_version_stage(self, *args: Any, **kwargs: Any) -> Any:
        if self._failures:
            self._failures -= 1
            raise MlflowException("busy", error_code=TEMPORARILY_UNAVAILABLE)
        return self._client.transition_model_version_stage(*args, **kwargs)


def _stages(client: MlflowClient) -> dict[int, str]:
    return {v.version: v.current_stage for v in client.search_model_versions(f"name = '{MODEL}'")}


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_stage_transitions(
    client: MlflowClient, logged: Logged, iris: tuple[Any, Any], trained: LogisticRegression
) -> None:
    X, _ = iris
    for _ in range(2):
        mlflow.register_model(f"models:/{logged.model_id}", MODEL)
    staged = client.transition_model_version_stage(MODEL, 1, "Staging")
    assert staged.current_stage == "Staging"
    assert client.get_latest_versions(MODEL, stages=["Staging"])[0].version == 1
    client.transition_model_version_stage(MODEL, 1, "production")  # any case
    assert _stages(client) == {1: "Production", 2: "None", 3: "None"}

    # Version 2 replaces version 1 in Production: 1 is archived.
    promoted = client.transition_model_version_stage(
        MODEL, 2, "Production", archive_existing_versions=True
    )
    assert promoted.current_stage == "Production"
    assert _stages(client) == {1: "Archived", 2: "Production", 3: "None"}
    assert [v.version for v in client.get_latest_versions(MODEL, stages=["Production"])] == [2]
    assert client.get_latest_versions(MODEL, stages=["Staging"]) == []
    latest = {(v.current_stage, v.version) for v in client.get_latest_versions(MODEL)}
    assert latest == {("Archived", 1), ("Production", 2), ("None", 3)}
    model = client.get_registered_model(MODEL)
    assert {(v.current_stage, v.version) for v in model.latest_versions} == latest
    assert _predictions(f"models:/{MODEL}/Production", X) == [int(p) for p in trained.predict(X)]

    # Without archiving, two versions share a stage; the latest is the highest.
    client.transition_model_version_stage(MODEL, 3, "Production")
    assert _stages(client) == {1: "Archived", 2: "Production", 3: "Production"}
    assert [v.version for v in client.get_latest_versions(MODEL, stages=["Production"])] == [3]

    invalid = "INVALID_PARAMETER_VALUE"
    assert _error_code(lambda: client.transition_model_version_stage(MODEL, 1, "Live")) == invalid
    missing = "RESOURCE_DOES_NOT_EXIST"
    assert (
        _error_code(lambda: client.transition_model_version_stage(MODEL, 9, "Staging")) == missing
    )


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_retrying_safe_transition(client: MlflowClient, logged: Logged) -> None:
    mlflow.register_model(f"models:/{logged.model_id}", MODEL)
    client.transition_model_version_stage(MODEL, 1, "Production")
    waits: list[float] = []

    mv = safe_transition(
        FlakyClient(client, failures=2), MODEL, 2, "Production", sleep=waits.append
    )
    assert (mv.version, mv.current_stage) == (2, "Production")
    assert waits == [0.5, 1.0]
    assert _stages(client) == {1: "Archived", 2: "Production"}

    waits.clear()
    with pytest.raises(MlflowException) as info:
        safe_transition(client, MODEL, 7, "Staging", sleep=waits.append)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert waits == [0.5, 1.0]


# --------------------------------------------------------------------------
# Searching
# --------------------------------------------------------------------------


def _names(models: Any) -> list[str]:
    return [m.name for m in models]


def test_searches(client: MlflowClient, logged: Logged) -> None:
    other_run = client.create_run(client.get_run(logged.run_id).info.experiment_id).info.run_id
    mlflow.register_model(f"models:/{logged.model_id}", MODEL)  # version 2, logged.run_id
    client.create_registered_model("Iris-Regressor", tags={"task": "regression"})
    client.create_model_version("Iris-Regressor", f"runs:/{other_run}/model", run_id=other_run)
    client.create_registered_model("wine-classifier", tags={"task": "classification"})
    client.set_registered_model_tag(MODEL, "task", "classification")
    client.set_model_version_tag(MODEL, 2, "validation_status", "approved")
    client.set_model_version_tag("Iris-Regressor", 1, "validation_status", "pending")

    assert _names(client.search_registered_models()) == [
        "Iris-Regressor",
        "iris-classifier",
        "wine-classifier",
    ]
    assert _names(client.search_registered_models(f"name='{MODEL}'")) == [MODEL]
    assert _names(client.search_registered_models("name LIKE 'iris%'")) == [MODEL]
    assert _names(client.search_registered_models("name ILIKE 'iris%'")) == [
        "Iris-Regressor",
        MODEL,
    ]
    assert _names(client.search_registered_models("name LIKE '%-classifier'")) == [
        MODEL,
        "wine-classifier",
    ]
    assert _names(
        client.search_registered_models("name IN ('wine-classifier', 'Iris-Regressor')")
    ) == ["Iris-Regressor", "wine-classifier"]
    assert _names(client.search_registered_models("tags.task = 'classification'")) == [
        MODEL,
        "wine-classifier",
    ]
    assert _names(
        client.search_registered_models("tags.task = 'classification'", order_by=["name DESC"])
    ) == ["wine-classifier", MODEL]
    searched = client.search_registered_models(f"name = '{MODEL}'")[0]
    assert searched.tags == {"task": "classification"}
    assert {(v.current_stage, v.version) for v in searched.latest_versions} == {("None", 2)}

    def versions(flt: str, **kwargs: Any) -> list[tuple[str, int]]:
        return [(v.name, v.version) for v in client.search_model_versions(flt, **kwargs)]

    by_version = ["name ASC", "version_number ASC"]
    assert versions(f"name='{MODEL}'", order_by=by_version) == [(MODEL, 1), (MODEL, 2)]
    assert versions(f"run_id = '{logged.run_id}'", order_by=by_version) == [(MODEL, 1), (MODEL, 2)]
    assert versions(f"run_id = '{other_run}'") == [("Iris-Regressor", 1)]
    assert versions(f"run_id IN ('{other_run}', 'f00')") == [("Iris-Regressor", 1)]
    assert versions("tags.validation_status = 'approved'") == [(MODEL, 2)]
    assert versions("tags.validation_status LIKE '%p%'", order_by=by_version) == [
        ("Iris-Regressor", 1),
        (MODEL, 2),
    ]
    assert versions("name ILIKE 'IRIS-%' AND version_number >= 2") == [(MODEL, 2)]
    assert versions("name NOT IN ('iris-classifier')") == [("Iris-Regressor", 1)]
    assert versions(f"source_path = 'runs:/{other_run}/model'") == [("Iris-Regressor", 1)]
    assert versions("name = 'wine-classifier'") == []

    # Paging: one version a page, in order, then no token.
    pages = []
    token = None
    while True:
        page = client.search_model_versions(
            f"name = '{MODEL}'", max_results=1, order_by=["version_number DESC"], page_token=token
        )
        pages.append([v.version for v in page])
        token = page.token
        if not token:
            break
    assert [p for p in pages if p] == [[2], [1]]

    invalid = "INVALID_PARAMETER_VALUE"
    assert _error_code(lambda: client.search_model_versions("tags.x IN ('a')")) == invalid
    assert _error_code(lambda: client.search_registered_models("description = 'x'")) == invalid
    assert _error_code(lambda: client.search_model_versions("version_number = 'x'")) == invalid


# --------------------------------------------------------------------------
# Renaming and deleting
# --------------------------------------------------------------------------


def test_rename_model(client: MlflowClient, logged: Logged) -> None:
    mlflow.register_model(f"models:/{logged.model_id}", MODEL)
    client.set_registered_model_alias(MODEL, "champion", 2)
    client.set_model_version_tag(MODEL, 1, "validation_status", "approved")

    client.rename_registered_model(MODEL, "iris-species")
    assert _error_code(lambda: client.get_registered_model(MODEL)) == "RESOURCE_DOES_NOT_EXIST"
    model = client.get_registered_model("iris-species")
    assert model.aliases == {"champion": 2}
    assert {(v.current_stage, v.version) for v in model.latest_versions} == {("None", 2)}
    assert client.get_model_version("iris-species", 1).tags == {"validation_status": "approved"}
    assert client.get_model_version("iris-species", 1).run_id == logged.run_id
    assert client.get_model_version_by_alias("iris-species", "champion").version == 2
    found = client.search_model_versions("name = 'iris-species'")
    assert sorted(v.version for v in found) == [1, 2]
    assert client.search_model_versions(f"name = '{MODEL}'") == []
    # New versions continue the renamed model's numbering.
    assert mlflow.register_model(f"models:/{logged.model_id}", "iris-species").version == 3

    client.create_registered_model("taken")
    exists = "RESOURCE_ALREADY_EXISTS"
    assert _error_code(lambda: client.rename_registered_model("iris-species", "taken")) == exists
    missing = "RESOURCE_DOES_NOT_EXIST"
    assert _error_code(lambda: client.rename_registered_model(MODEL, "other")) == missing


def test_delete_version_and_model(client: MlflowClient, logged: Logged) -> None:
    for _ in range(2):
        mlflow.register_model(f"models:/{logged.model_id}", MODEL)
    client.set_registered_model_alias(MODEL, "champion", 3)
    client.set_registered_model_alias(MODEL, "previous", 2)

    client.delete_model_version(MODEL, 3)
    missing = "RESOURCE_DOES_NOT_EXIST"
    assert _error_code(lambda: client.get_model_version(MODEL, 3)) == missing
    assert _error_code(lambda: client.delete_model_version(MODEL, 3)) == missing
    model = client.get_registered_model(MODEL)
    assert model.aliases == {"previous": 2}  # the deleted version's alias went with it
    assert {(v.current_stage, v.version) for v in model.latest_versions} == {("None", 2)}
    assert _error_code(lambda: client.get_model_version_by_alias(MODEL, "champion")) == (
        "INVALID_PARAMETER_VALUE"
    )
    # A deleted version's number is never reused.
    assert mlflow.register_model(f"models:/{logged.model_id}", MODEL).version == 4
    assert sorted(v.version for v in client.search_model_versions(f"name = '{MODEL}'")) == [1, 2, 4]
    assert client.get_model_version_by_alias(MODEL, "latest").version == 4

    client.delete_registered_model(MODEL)
    assert _error_code(lambda: client.get_registered_model(MODEL)) == missing
    assert _error_code(lambda: client.get_model_version(MODEL, 1)) == missing
    assert _error_code(lambda: client.delete_registered_model(MODEL)) == missing
    assert client.search_registered_models() == []
    assert client.search_model_versions(f"run_id = '{logged.run_id}'") == []
    # The logged model and its run stay.
    assert mlflow.get_logged_model(logged.model_id).source_run_id == logged.run_id
    # The name can be registered again, from version 1.
    assert mlflow.register_model(f"models:/{logged.model_id}", MODEL).version == 1


# --------------------------------------------------------------------------
# Prompts
# --------------------------------------------------------------------------


def _join_prompt_linking() -> None:
    """``register_prompt`` and ``load_prompt`` tag the prompt with the active
    experiment in a thread of their own: waits for those threads."""
    for thread in threading.enumerate():
        if thread.name.startswith("link_prompt_to_experiment_thread"):
            thread.join(timeout=60)
            assert not thread.is_alive(), thread.name


def test_prompts(client: MlflowClient, logged: Logged) -> None:
    first = mlflow.genai.register_prompt(name="greeting", template="Hello {{name}}")
    assert (first.name, first.version) == ("greeting", 1)
    second = mlflow.genai.register_prompt(
        name="greeting", template="Hello {{name}}, welcome!", commit_message="warmer"
    )
    assert second.version == 2
    _join_prompt_linking()

    loaded = mlflow.genai.load_prompt("prompts:/greeting/1")
    assert loaded.template == "Hello {{name}}"
    assert loaded.format(name="Ada") == "Hello Ada"
    assert mlflow.genai.load_prompt("prompts:/greeting/2").template == "Hello {{name}}, welcome!"

    mlflow.genai.set_prompt_alias("greeting", alias="production", version=1)
    by_alias = mlflow.genai.load_prompt("prompts:/greeting@production")
    assert (by_alias.version, by_alias.template) == (1, "Hello {{name}}")
    assert mlflow.genai.load_prompt("prompts:/greeting@latest").version == 2
    _join_prompt_linking()

    # Prompts are registered models of their own kind: kept out of model searches.
    assert _names(client.search_registered_models()) == [MODEL]
    assert client.search_registered_models("name = 'greeting'") == []
    assert [p.name for p in mlflow.genai.search_prompts()] == ["greeting"]
    assert [p.name for p in mlflow.genai.search_prompts("experiment_id = '0'")] == ["greeting"]
    # A prompt cannot take a registered model's name.
    with pytest.raises(MlflowException):
        mlflow.genai.register_prompt(name=MODEL, template="Hi")
