"""The model registry of ``tracklite:`` URIs: it holds no registered
models, answers MLflow's UI and client with empty results, and refuses
every change with a clear ``MlflowException``."""

from __future__ import annotations

import inspect

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.store.model_registry.abstract_store import AbstractStore  # noqa: E402
from mlflow.tracking._model_registry.utils import _get_store_registry  # noqa: E402

from tracklite.mlflow_plugin import _unsupported  # noqa: E402
from tracklite.mlflow_plugin._registry import TrackliteRegistryStore  # noqa: E402

READS = {
    "search_registered_models",
    "search_model_versions",
    "get_registered_model",
    "get_latest_versions",
    "get_model_version",
    "get_model_version_by_alias",
    "get_model_version_download_uri",
}


@pytest.fixture
def registry(tracking_uri: str) -> TrackliteRegistryStore:
    store = _get_store_registry().get_store(tracking_uri, tracking_uri)
    assert isinstance(store, TrackliteRegistryStore)
    return store


def test_searches_are_empty(client) -> None:
    assert client.search_registered_models() == []
    assert client.search_model_versions("run_id = 'abc'") == []


def test_lookups_say_the_model_does_not_exist(client) -> None:
    with pytest.raises(MlflowException) as info:
        client.get_registered_model("clf")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_registering_says_how_to_get_a_registry(client) -> None:
    run_id = client.create_run("0").info.run_id
    with pytest.raises(MlflowException) as info:
        mlflow.register_model(f"runs:/{run_id}/model", "clf")
    assert info.value.error_code == "NOT_IMPLEMENTED"
    assert "--registry-store-uri" in info.value.message


@pytest.mark.parametrize("name", sorted(_unsupported.interface_methods(AbstractStore)))
def test_every_registry_method_answers_or_raises(name: str, registry) -> None:
    method = getattr(TrackliteRegistryStore, name)
    if name in READS:
        assert not _unsupported.is_stub(method)
        return
    assert _unsupported.is_stub(method), f"{name} falls back to MLflow's base class"
    params = list(inspect.signature(method).parameters.values())[1:]
    args = [
        "x"
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    with pytest.raises(MlflowException) as info:
        getattr(registry, name)(*args)
    assert info.value.error_code == "NOT_IMPLEMENTED"
