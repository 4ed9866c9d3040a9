"""Reads of the GenAI features a tracklite store does not keep (traces,
evaluation datasets, scorers, label schemas, review queues, the AI gateway,
MCP servers): answered as a store that holds none of them answers.

MLflow's UI reads these on its default pages (an experiment's Overview
charts, its Traces, Judges, Datasets and Review tabs, the AI Gateway and
MCP registry pages) and shows "Failed to load" when the server fails them.
A tracklite store has no traces, so the true answer is an empty one: no
traces, no datasets, no scorers, and trace metrics computed over no traces.
The results have the types and shapes of MLflow's SQL store, with the same
checks of their arguments (a bad filter, page token or ``max_results`` is
still ``INVALID_PARAMETER_VALUE``; an unknown experiment, where the SQL
store checks it, ``RESOURCE_DOES_NOT_EXIST``). The writes of these
features still raise ``NOT_IMPLEMENTED`` (see ``_unsupported``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlflow.entities import LifecycleStage
from mlflow.entities.trace_metrics import AggregationType, MetricDataPoint
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD
from mlflow.store.tracking.utils.sql_trace_metrics_utils import (
    validate_query_trace_metrics_params,
)
from mlflow.utils.search_utils import (
    SearchEvaluationDatasetsUtils,
    SearchMCPServerUtils,
    SearchTraceMetricsUtils,
    SearchTraceUtils,
    SearchUtils,
)

from .. import _native
from . import _convert as c
from ._errors import invalid, translated

if TYPE_CHECKING:
    from mlflow.entities.trace_metrics import MetricAggregation, MetricViewType

#: MLflow's default page sizes of the searches below (its SQL store's).
SEARCH_TRACES_DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_QUERY_TRACE_METRICS = 1000
SEARCH_DATASETS_DEFAULT_MAX_RESULTS = 1000
LIST_LABEL_SCHEMAS_DEFAULT_MAX_RESULTS = 100
#: The MCP server search's own cap on ``max_results``, and its sort keys.
SEARCH_MCP_SERVERS_MAX_RESULTS = 1000
MCP_SERVER_ORDER_KEYS = frozenset({"name", "created_at", "last_updated_at"})


def check_max_results(max_results: Any, allow_none: bool = False) -> None:
    """``max_results`` as MLflow's SQL store accepts it: a positive integer
    no greater than its search threshold."""
    if max_results is None:
        if allow_none:
            return
        raise invalid("Invalid value None for parameter 'max_results' supplied: it must be given")
    if not isinstance(max_results, int) or max_results < 1:
        raise invalid(
            f"Invalid value {max_results!r} for parameter 'max_results' supplied. "
            "It must be a positive integer"
        )
    if max_results > SEARCH_MAX_RESULTS_THRESHOLD:
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. "
            f"It must be at most {SEARCH_MAX_RESULTS_THRESHOLD}"
        )


def check_page_token(page_token: str | None) -> None:
    """A page token must be one a search could have returned (MLflow's
    offset tokens); an empty result has no next page, so any valid token
    leads to an empty page."""
    SearchUtils.parse_start_offset_from_page_token(page_token)


def empty_trace_metrics(
    aggregations: Sequence[MetricAggregation],
    dimensions: Sequence[str] | None,
    time_interval_seconds: int | None,
    metric_name: str,
) -> list[MetricDataPoint]:
    """Trace metrics over no traces, as an SQL aggregate computes them:
    grouped by dimensions or time buckets there are no groups, hence no
    points; ungrouped there is one row, in which a count is 0 and every
    other aggregate (sum, average, min, max, percentiles) is NULL, and a
    point keeps only its non-NULL values (none left: no point)."""
    if dimensions or time_interval_seconds:
        return []
    counts = [a for a in aggregations if a.aggregation_type == AggregationType.COUNT]
    if not counts:
        return []
    return [MetricDataPoint(metric_name=metric_name, dimensions={}, values={"COUNT": 0})]


class EmptyReadsMixin:
    """The reads of the features :class:`TrackliteStore` does not keep."""

    _native: _native.Store

    def _active_experiment(self, experiment_id: Any, deleted_code: int) -> None:
        """An experiment the SQL store would list these features for: one
        that exists and is not deleted (a deleted one is ``deleted_code``,
        which differs between the SQL store's methods)."""
        experiment = c.experiment(self._native.get_experiment(str(experiment_id)))
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise MlflowException(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}.",
                error_code=deleted_code,
            )

    # Traces

    @translated
    def search_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int = SEARCH_TRACES_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        model_id: str | None = None,
        locations: Sequence[str] | None = None,
    ) -> tuple[list[Any], str | None]:
        """No trace matches: the store keeps none. The filter and order_by
        are parsed, so a malformed one is still an error."""
        if experiment_ids and locations:
            raise invalid("Give experiment_ids or locations to search_traces, not both")
        check_max_results(max_results)
        SearchTraceUtils.parse_search_filter_for_search_traces(filter_string)
        for clause in order_by or ():
            SearchTraceUtils.parse_order_by_for_search_traces(clause)
        check_page_token(page_token)
        return [], None

    @translated
    def query_trace_metrics(
        self,
        experiment_ids: Sequence[str],
        view_type: MetricViewType,
        metric_name: str,
        aggregations: Sequence[MetricAggregation],
        dimensions: Sequence[str] | None = None,
        filters: Sequence[str] | None = None,
        time_interval_seconds: int | None = None,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
        max_results: int = MAX_RESULTS_QUERY_TRACE_METRICS,
        page_token: str | None = None,
    ) -> PagedList[Any]:  # of MetricDataPoint (MLflow's annotation says list[...])
        """The metric computed over no traces (see :func:`empty_trace_metrics`),
        after MLflow's checks of the view, metric, aggregations, dimensions
        and filters."""
        validate_query_trace_metrics_params(
            view_type, metric_name, list(aggregations), list(dimensions or ()) or None
        )
        if time_interval_seconds and (start_time_ms is None or end_time_ms is None):
            raise invalid(
                "start_time_ms and end_time_ms are required if time_interval_seconds is set"
            )
        for f in filters or ():
            SearchTraceMetricsUtils.parse_search_filter(f)
        points = empty_trace_metrics(aggregations, dimensions, time_interval_seconds, metric_name)
        return PagedList(points[: max(max_results, 0)], None)

    # Evaluation datasets, scorers, label schemas, review queues

    @translated
    def search_datasets(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int = SEARCH_DATASETS_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Any]:
        """No evaluation dataset: the store keeps none (the filter is still parsed)."""
        check_max_results(max_results)
        check_page_token(page_token)
        if filter_string:
            SearchEvaluationDatasetsUtils.parse_search_filter(filter_string)
        return PagedList([], None)

    @translated
    def list_scorers(self, experiment_id: str) -> list[Any]:
        """No scorer: the store keeps none (the experiment must exist and be active)."""
        self._active_experiment(experiment_id, databricks_pb2.INVALID_PARAMETER_VALUE)
        return []

    @translated
    def list_label_schemas(
        self,
        experiment_id: str,
        max_results: int = LIST_LABEL_SCHEMAS_DEFAULT_MAX_RESULTS,
        page_token: str | None = None,
    ) -> PagedList[Any]:
        """No label schema: the store keeps none (the experiment must exist and be active)."""
        check_max_results(max_results)
        check_page_token(page_token)
        self._active_experiment(experiment_id, databricks_pb2.RESOURCE_DOES_NOT_EXIST)
        return PagedList([], None)

    @translated
    def list_review_queues(
        self,
        experiment_id: str,
        *,
        user: str | None = None,
        item_id: str | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Any]:
        """No review queue: the store keeps none (the experiment must exist and be active)."""
        check_max_results(max_results, allow_none=True)
        check_page_token(page_token)
        self._active_experiment(experiment_id, databricks_pb2.RESOURCE_DOES_NOT_EXIST)
        return PagedList([], None)

    # The AI gateway and the MCP server registry

    def list_gateway_endpoints(
        self, provider: str | None = None, secret_id: str | None = None
    ) -> list[Any]:
        """No AI gateway endpoint: the store keeps none."""
        return []

    def list_endpoint_bindings(
        self,
        endpoint_id: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> list[Any]:
        """No binding of an AI gateway endpoint: the store keeps none."""
        return []

    def list_secret_infos(self, provider: str | None = None) -> list[Any]:
        """No AI gateway secret: the store keeps none."""
        return []

    def list_gateway_model_definitions(
        self, provider: str | None = None, secret_id: str | None = None
    ) -> list[Any]:
        """No AI gateway model definition: the store keeps none."""
        return []

    def list_budget_policies(
        self, max_results: int = SEARCH_MAX_RESULTS_DEFAULT, page_token: str | None = None
    ) -> PagedList[Any]:
        """No AI gateway budget policy: the store keeps none."""
        check_max_results(max_results)
        check_page_token(page_token)
        return PagedList([], None)

    def list_gateway_guardrails(
        self, max_results: int = SEARCH_MAX_RESULTS_DEFAULT, page_token: str | None = None
    ) -> PagedList[Any]:
        """No AI gateway guardrail: the store keeps none."""
        check_max_results(max_results)
        check_page_token(page_token)
        return PagedList([], None)

    def search_mcp_servers(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Any]:
        """No MCP server: the store keeps none (the filter and order_by are still checked)."""
        check_max_results(max_results)
        if max_results > SEARCH_MCP_SERVERS_MAX_RESULTS:
            raise invalid(
                f"Invalid value {max_results} for parameter 'max_results' of an MCP server "
                f"search. It must be at most {SEARCH_MCP_SERVERS_MAX_RESULTS}"
            )
        check_page_token(page_token)
        if filter_string:
            SearchMCPServerUtils.parse_search_filter(filter_string)
        for clause in order_by or ():
            key, _ = SearchUtils._parse_order_by_string(clause)
            if key.strip() not in MCP_SERVER_ORDER_KEYS:
                raise invalid(
                    f"Invalid order_by key {key.strip()!r} of an MCP server search. "
                    f"Valid keys: {sorted(MCP_SERVER_ORDER_KEYS)}"
                )
        return PagedList([], None)
