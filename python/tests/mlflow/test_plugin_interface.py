"""The plugin's store against MLflow's whole store interface: registered
for its scheme, and every method of ``AbstractStore`` either implemented
by the plugin or raising a clear ``MlflowException``, never falling back
to a base-class body that returns None."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.protos import databricks_pb2  # noqa: E402
from mlflow.store.tracking.abstract_store import AbstractStore  # noqa: E402

from tracklite.mlflow_plugin import TrackliteStore, _unsupported  # noqa: E402

NOT_IMPLEMENTED = databricks_pb2.ErrorCode.Name(databricks_pb2.NOT_IMPLEMENTED)

INTERFACE = _unsupported.interface_methods()

#: Reads of features the store does not keep, which answer empty
#: (traces, trace metrics, datasets, scorers, the gateway, MCP servers).
EMPTY_READS = {
    "list_budget_policies",
    "list_endpoint_bindings",
    "list_gateway_endpoints",
    "list_gateway_guardrails",
    "list_gateway_model_definitions",
    "list_label_schemas",
    "list_review_queues",
    "list_scorers",
    "list_secret_infos",
    "query_trace_metrics",
    "search_datasets",
    "search_mcp_servers",
    "search_traces",
}

#: The logged-model methods, implemented by the native store.
LOGGED_MODEL_METHODS = {
    "create_logged_model",
    "delete_logged_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_logged_model",
    "log_logged_model_params",
    "log_outputs",
    "search_logged_models",
    "set_logged_model_tags",
}


def _owner(name: str) -> type:
    return next(k for k in TrackliteStore.__mro__ if name in vars(k))


def _dummy_args(method: Any) -> list[Any]:
    """Placeholder arguments for every required parameter."""
    params = list(inspect.signature(method).parameters.values())[1:]
    return [
        "x"
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def _dummy_kwargs(method: Any) -> dict[str, Any]:
    params = list(inspect.signature(method).parameters.values())[1:]
    return {
        p.name: "x"
        for p in params
        if p.default is inspect.Parameter.empty and p.kind == p.KEYWORD_ONLY
    }


def test_the_entry_point_builds_the_store(tracking_uri: str) -> None:
    from mlflow.tracking._tracking_service.utils import _get_store

    store = _get_store(tracking_uri)
    assert isinstance(store, TrackliteStore)
    assert isinstance(store, AbstractStore)


def test_the_interface_is_large_and_covered() -> None:
    # A sanity check that the walk sees MLflow's interface, mixins included.
    assert {"create_run", "log_batch", "search_traces", "create_gateway_secret"} <= set(INTERFACE)
    assert len(INTERFACE) > 100


@pytest.mark.parametrize("name", sorted(INTERFACE))
def test_every_method_is_implemented_or_raises(name: str, store: TrackliteStore) -> None:
    method = getattr(TrackliteStore, name)
    owner = _owner(name)
    if _unsupported.is_stub(method):
        bound = getattr(store, name)
        with pytest.raises(MlflowException) as info:
            call = bound(*_dummy_args(method), **_dummy_kwargs(method))
            if inspect.iscoroutine(call):
                asyncio.run(call)
        assert info.value.error_code == NOT_IMPLEMENTED
        assert "not supported by the tracklite tracking store" in info.value.message
    elif name in _unsupported.INHERITED:
        # Bodies that only delegate to the plugin's methods: tested through them.
        assert owner.__module__.startswith("mlflow."), f"{name} is in INHERITED but overridden"
    else:
        assert owner.__module__.startswith("tracklite.mlflow_plugin"), (
            f"{name} falls back to {owner.__module__}.{owner.__name__}"
        )


@pytest.mark.parametrize("name", sorted(LOGGED_MODEL_METHODS))
def test_logged_models_are_implemented(name: str) -> None:
    method = getattr(TrackliteStore, name)
    assert not _unsupported.is_stub(method)
    assert _owner(name).__module__ == "tracklite.mlflow_plugin._models"


@pytest.mark.parametrize("name", sorted(EMPTY_READS))
def test_empty_reads_are_implemented(name: str) -> None:
    assert name in INTERFACE
    assert not _unsupported.is_stub(getattr(TrackliteStore, name))
    assert _owner(name).__module__ == "tracklite.mlflow_plugin._empty_reads"


def test_inherited_bodies_are_part_of_the_interface() -> None:
    assert set(_unsupported.INHERITED) <= set(INTERFACE)


def test_unsupported_errors_name_the_feature(store: TrackliteStore) -> None:
    with pytest.raises(MlflowException, match=r"Tracing .*get_trace_info"):
        store.get_trace_info("tr-0")
    with pytest.raises(MlflowException, match="GenAI evaluation datasets"):
        store.create_dataset("d")


def test_the_server_maps_unsupported_calls_to_501(store: TrackliteStore) -> None:
    with pytest.raises(MlflowException) as info:
        store.start_trace(None)
    assert info.value.get_http_status_code() == 501
