"""The native module's records as MLflow entities, and MLflow's entities
as what the native module takes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlflow.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
    ViewType,
)

from .. import _values as v
from ._uri import local_uri

_VIEWS = {ViewType.ACTIVE_ONLY: "active", ViewType.DELETED_ONLY: "deleted", ViewType.ALL: "all"}


def view(view_type: Any) -> str:
    """The native name of an MLflow view type (an int, or its name)."""
    if view_type is None:
        return "active"
    if isinstance(view_type, str):
        view_type = ViewType.from_string(view_type)
    try:
        return _VIEWS[view_type]
    except (KeyError, TypeError):
        from ._errors import invalid

        raise invalid(f"invalid view type {view_type!r}") from None


def experiment(d: Mapping[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=d["experiment_id"],
        name=d["name"],
        artifact_location=local_uri(d["artifact_location"]),
        lifecycle_stage=d["lifecycle_stage"],
        tags=[ExperimentTag(k, x) for k, x in d["tags"].items()],
        creation_time=d["creation_time"],
        last_update_time=d["last_update_time"],
    )


def run_info(d: Mapping[str, Any]) -> RunInfo:
    return RunInfo(
        run_id=d["run_id"],
        experiment_id=d["experiment_id"],
        user_id=d["user_id"],
        status=d["status"],
        start_time=d["start_time"],
        end_time=d["end_time"],
        lifecycle_stage=d["lifecycle_stage"],
        artifact_uri=local_uri(d["artifact_uri"]),
        run_name=d["run_name"],
    )


def dataset_input(d: Mapping[str, Any]) -> DatasetInput:
    ds = d["dataset"]
    return DatasetInput(
        dataset=Dataset(
            name=ds["name"],
            digest=ds["digest"],
            source_type=ds["source_type"],
            source=ds["source"],
            schema=ds.get("schema"),
            profile=ds.get("profile"),
        ),
        tags=[InputTag(k, x) for k, x in d["tags"].items()],
    )


def run(
    d: Mapping[str, Any],
    model_inputs: list[LoggedModelInput] | None = None,
    model_outputs: list[LoggedModelOutput] | None = None,
) -> Run:
    """A run with its latest metrics, params, tags, dataset inputs and,
    when the store keeps them, its model inputs and outputs."""
    metrics = [
        Metric(key, m["value"], m["timestamp"], m["step"]) for key, m in d["metrics"].items()
    ]
    data = RunData(
        metrics=metrics,
        params=[Param(k, x) for k, x in d["params"].items()],
        tags=[RunTag(k, x) for k, x in d["tags"].items()],
    )
    inputs = RunInputs(
        dataset_inputs=[dataset_input(i) for i in d.get("inputs", ())],
        model_inputs=model_inputs or [],
    )
    return Run(run_info(d["info"]), data, inputs, RunOutputs(model_outputs or []))


def metric_tuple(m: Any) -> tuple[str, float, int, int]:
    """``(key, value, timestamp, step)`` of an MLflow Metric. Unlike the
    fluent functions, a store keeps a timestamp of 0 as 0; None means now."""
    key = v.key(m.key, "metric")
    ts = m.timestamp
    timestamp = v.now_ms() if ts is None else v.integer(ts, "a metric timestamp")
    return (key, v.metric_value(key, m.value), timestamp, v.step(m.step))


def metric_tuples(metrics: Iterable[Any]) -> list[tuple[str, float, int, int]]:
    return [metric_tuple(m) for m in metrics]


def pairs(items: Iterable[Any], what: str) -> list[tuple[str, str]]:
    return [v.pair(x, what) for x in items]
