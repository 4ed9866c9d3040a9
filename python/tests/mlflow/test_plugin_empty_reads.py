"""The reads of features a tracklite store does not keep (traces, trace
metrics, evaluation datasets, scorers, review queues, label schemas, the AI
gateway, MCP servers) answer as MLflow's SQL store answers when it holds
none of them: the same values and types, the same errors for bad
arguments. MLflow's SQL store, on a fresh SQLite file with the same
experiments, is the oracle."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.entities.trace_metrics import (  # noqa: E402
    AggregationType,
    MetricAggregation,
    MetricViewType,
)
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore  # noqa: E402
from mlflow.store.tracking.utils.sql_trace_metrics_utils import VIEW_TYPE_CONFIGS  # noqa: E402

from tracklite.mlflow_plugin import TrackliteStore  # noqa: E402

#: The experiments both stores hold: "1" active, "2" deleted.
ACTIVE, DELETED, UNKNOWN = "1", "2", "999"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, TrackliteStore]]:
    """MLflow's SQL store and a tracklite store, each with an active and a
    deleted experiment (made once: the SQL store's migrations take seconds)."""
    root: Path = tmp_path_factory.mktemp("empty-reads")
    sql = SqlAlchemyStore(f"sqlite:///{root / 'mlflow.db'}", str(root / "sql-artifacts"))
    tracklite = TrackliteStore(f"tracklite://{root / 'store'}")
    for store in (sql, tracklite):
        assert store.create_experiment("active", None, None) == ACTIVE
        assert store.create_experiment("deleted", None, None) == DELETED
        store.delete_experiment(DELETED)
    yield sql, tracklite
    sql.engine.dispose()


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """A call's result as comparable values, or its error code."""
    try:
        result = call()
    except MlflowException as e:
        return "error", e.error_code
    if isinstance(result, tuple):  # search_traces: (infos, token)
        return "tuple", ([_plain(x) for x in result[0]], result[1])
    return type(result).__name__, ([_plain(x) for x in result], getattr(result, "token", None))


def _plain(x: Any) -> Any:
    return x.to_dict() if hasattr(x, "to_dict") else vars(x)


def _same(stores: tuple[Any, TrackliteStore], name: str, *args: Any, **kwargs: Any) -> Any:
    """Calls ``name`` on both stores; their outcomes must be equal."""
    sql, tracklite = stores
    expected = _outcome(lambda: getattr(sql, name)(*args, **kwargs))
    got = _outcome(lambda: getattr(tracklite, name)(*args, **kwargs))
    assert got == expected, f"{name}{args}{kwargs}"
    return got


def _every_metric_query() -> Iterator[tuple[MetricViewType, str, list[MetricAggregation], str]]:
    for view_type, metrics in VIEW_TYPE_CONFIGS.items():
        for name, config in metrics.items():
            aggregations = [
                MetricAggregation(a, 95.0 if a == AggregationType.PERCENTILE else None)
                for a in sorted(config.aggregation_types, key=lambda a: a.value)
            ]
            dimension = sorted(d for d in config.dimensions if d)[:1]
            yield view_type, name, aggregations, dimension[0] if dimension else ""


@pytest.mark.parametrize(
    ("view_type", "metric_name", "aggregations", "dimension"),
    list(_every_metric_query()),
    ids=lambda x: x.value if isinstance(x, MetricViewType) else None,
)
def test_trace_metrics_over_no_traces(
    stores: tuple[Any, TrackliteStore],
    view_type: MetricViewType,
    metric_name: str,
    aggregations: list[MetricAggregation],
    dimension: str,
) -> None:
    # Ungrouped: one point for a count (0), none for the other aggregates.
    kind, (points, token) = _same(
        stores, "query_trace_metrics", [ACTIVE], view_type, metric_name, aggregations
    )
    assert kind == "PagedList" and token is None
    if any(a.aggregation_type == AggregationType.COUNT for a in aggregations):
        assert [p["values"] for p in points] == [{"COUNT": 0}]
    else:
        assert points == []
    # Grouped by time buckets or by a dimension: no groups, no points.
    _same(
        stores,
        "query_trace_metrics",
        [ACTIVE],
        view_type,
        metric_name,
        aggregations,
        time_interval_seconds=3600,
        start_time_ms=0,
        end_time_ms=86_400_000,
    )
    if dimension:
        assert _same(
            stores,
            "query_trace_metrics",
            [ACTIVE],
            view_type,
            metric_name,
            aggregations,
            [dimension],
        ) == ("PagedList", ([], None))


def test_trace_metrics_check_their_arguments(stores: tuple[Any, TrackliteStore]) -> None:
    count = [MetricAggregation(AggregationType.COUNT)]
    traces = MetricViewType.TRACES
    for args, kwargs in [
        (([ACTIVE], traces, "no_such_metric", count), {}),
        (([ACTIVE], traces, "trace_count", [MetricAggregation(AggregationType.SUM)]), {}),
        (([ACTIVE], traces, "trace_count", count, ["no_such_dimension"]), {}),
        (([ACTIVE], traces, "trace_count", count), {"time_interval_seconds": 60}),
        (([ACTIVE], traces, "trace_count", count), {"filters": ["nonsense ==== 1"]}),
    ]:
        assert _same(stores, "query_trace_metrics", *args, **kwargs) == (
            "error",
            "INVALID_PARAMETER_VALUE",
        )
    # A well-formed filter narrows nothing down to nothing.
    _same(
        stores,
        "query_trace_metrics",
        [ACTIVE],
        traces,
        "trace_count",
        count,
        filters=["trace.status = 'OK'"],
    )
    # Unknown experiments are not an error of a metrics query.
    _same(stores, "query_trace_metrics", [UNKNOWN], traces, "trace_count", count)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"filter_string": "trace.status = 'OK'", "order_by": ["timestamp_ms DESC"]},
        {"filter_string": "bad filter here"},
        {"order_by": ["nonsense DESC"]},
        {"max_results": 0},
        {"max_results": 50_001},
        {"page_token": "not a token"},
    ],
)
def test_search_traces(stores: tuple[Any, TrackliteStore], kwargs: dict[str, Any]) -> None:
    _same(stores, "search_traces", [ACTIVE], **kwargs)


def test_search_traces_of_unknown_experiments_finds_nothing(
    stores: tuple[Any, TrackliteStore],
) -> None:
    assert _same(stores, "search_traces", [UNKNOWN]) == ("tuple", ([], None))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"experiment_ids": [ACTIVE]},
        {"experiment_ids": [ACTIVE], "filter_string": "name = 'x'"},
        {"filter_string": "bogus ==== 1"},
        {"max_results": 0},
        {"page_token": "not a token"},
    ],
)
def test_search_evaluation_datasets(
    stores: tuple[Any, TrackliteStore], kwargs: dict[str, Any]
) -> None:
    _same(stores, "search_datasets", **kwargs)


@pytest.mark.parametrize("experiment_id", [ACTIVE, DELETED, UNKNOWN])
def test_scorers_and_review_queues_of_an_experiment(
    stores: tuple[Any, TrackliteStore], experiment_id: str
) -> None:
    _same(stores, "list_scorers", experiment_id)
    _same(stores, "list_review_queues", experiment_id)
    _same(stores, "list_review_queues", experiment_id, user="someone")


def test_label_schemas(stores: tuple[Any, TrackliteStore]) -> None:
    sql, tracklite = stores
    # The SQL store seeds a default label schema into every experiment on
    # its first listing (a write); a tracklite store keeps none.
    assert list(tracklite.list_label_schemas(ACTIVE)) == []
    assert tracklite.list_label_schemas(ACTIVE).token is None
    for experiment_id in (DELETED, UNKNOWN):
        _same(stores, "list_label_schemas", experiment_id)
    _same(stores, "list_label_schemas", ACTIVE, max_results=0)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("list_gateway_endpoints", {}),
        ("list_endpoint_bindings", {}),
        ("list_secret_infos", {}),
        ("list_gateway_model_definitions", {}),
        ("list_budget_policies", {}),
        ("list_budget_policies", {"max_results": 0}),
        ("list_gateway_guardrails", {}),
        ("list_gateway_guardrails", {"page_token": "not a token"}),
        ("search_mcp_servers", {}),
        ("search_mcp_servers", {"filter_string": "name = 'x'", "order_by": ["name"]}),
        ("search_mcp_servers", {"max_results": 5000}),
        ("search_mcp_servers", {"order_by": ["nonsense"]}),
    ],
)
def test_gateway_and_mcp_lists(
    stores: tuple[Any, TrackliteStore], name: str, kwargs: dict[str, Any]
) -> None:
    _same(stores, name, **kwargs)


def test_the_client_searches_traces(tracking_uri: str) -> None:
    experiment_id = mlflow.create_experiment("traces")
    assert list(mlflow.MlflowClient().search_traces(locations=[experiment_id])) == []
    frame = mlflow.search_traces(locations=[experiment_id])
    assert len(frame) == 0 and "trace_id" in frame.columns
    assert mlflow.search_traces(locations=[experiment_id], return_type="list") == []


def test_writes_of_these_features_still_raise(store: TrackliteStore) -> None:
    for call in (
        lambda: store.get_trace_info("tr-0"),
        lambda: store.get_or_create_user_queue("0", user="someone"),
        lambda: store.register_scorer("0", "s", "{}"),
    ):
        with pytest.raises(MlflowException) as info:
            call()
        assert info.value.error_code == "NOT_IMPLEMENTED"
