"""``mlflow models serve -m models:/iris-classifier@champion`` on a
``tracklite:`` store, as MLflow's Model Registry guide serves its model:
the serving process finds the champion through the registry (not the
latest version: a later version predicts something else), downloads its
files and answers the guide's request ``{"inputs": [[5.1, 3.5, 1.4, 0.2]]}``
with the prediction of the model that was trained.

The server is ``sys.executable -m mlflow`` (the test's environment, with
``--env-manager local``) on a free loopback port, started and stopped (its
whole process group) by the test; readiness is polled on ``/ping`` and
``/health`` with a deadline, and a server that exits or never gets ready
fails the test with its output.

The registry is the tracking store itself (MLflow's default). To check
this file against MLflow's own registry, set ``TRACKLITE_TEST_REGISTRY_URI``
to a URI; ``{tmp}`` in it is the test's temporary folder, e.g.
``TRACKLITE_TEST_REGISTRY_URI='sqlite:///{tmp}/reg.db'``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

REGISTRY_ENV = "TRACKLITE_TEST_REGISTRY_URI"
MODEL = "iris-classifier"
#: The guide's request: one iris flower (a setosa).
REQUEST = {"inputs": [[5.1, 3.5, 1.4, 0.2]]}
SERVER_READY_DEADLINE = 180.0  # s; the server imports MLflow, sklearn and FastAPI
STOP_DEADLINE = 30.0  # s


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


class Champion(NamedTuple):
    version: int
    prediction: list[Any]


@pytest.fixture
def champion(registry_uri: str, monkeypatch: pytest.MonkeyPatch) -> Champion:
    """Version 1 of ``iris-classifier`` (the guide's classifier) has the
    alias ``champion``; version 2, the latest, always answers virginica."""

    def default_requirements(path: str, flavor: str, fallback: Any = None, **_: Any) -> Any:
        return fallback  # no requirements inference in a subprocess: seconds a model

    monkeypatch.setattr(mlflow.models, "infer_pip_requirements", default_requirements)
    X, y = load_iris(return_X_y=True)
    classifier = LogisticRegression(max_iter=300).fit(X, y)
    always_virginica = DummyClassifier(strategy="constant", constant=2).fit(X, y)
    versions = []
    for model in (classifier, always_virginica):
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model, name="model", registered_model_name=MODEL, input_example=X[:3]
            )
        versions.append(info.registered_model_version)
    assert versions == [1, 2]
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(MODEL, "champion", 1)
    assert client.get_model_version_by_alias(MODEL, "champion").version == 1
    prediction = classifier.predict(REQUEST["inputs"]).tolist()
    assert prediction != always_virginica.predict(REQUEST["inputs"]).tolist()
    return Champion(1, prediction)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stops the server's process group: SIGTERM, then SIGKILL."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_DEADLINE)


@pytest.fixture
def server(
    champion: Champion, tracking_uri: str, registry_uri: str, tmp_path: Path
) -> Iterator[str]:
    """``mlflow models serve`` of ``models:/iris-classifier@champion``; its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    env = {
        **os.environ,
        # The server runs `uvicorn` from the test's environment.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_REGISTRY_URI": registry_uri,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                f"models:/{MODEL}@champion",
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_READY_DEADLINE
        while not _answers(f"{url}/ping"):
            if time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow models serve not ready after {SERVER_READY_DEADLINE}s:\n"
                    + log_path.read_text(errors="replace")[-4000:]
                )
            try:
                code = proc.wait(timeout=0.5)  # the poll interval, and an early exit
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(
                f"mlflow models serve exited with {code}:\n"
                + log_path.read_text(errors="replace")[-4000:]
            )
        yield url
    finally:
        _stop(proc)


def test_serves_the_champion(server: str, champion: Champion) -> None:
    assert _answers(f"{server}/health")
    request = urllib.request.Request(
        f"{server}/invocations",
        data=json.dumps(REQUEST).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        answer = json.loads(response.read())
    assert answer == {"predictions": champion.prediction}
