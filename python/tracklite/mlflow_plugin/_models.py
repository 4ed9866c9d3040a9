"""MLflow 3's logged models over the store's own: creation, lookup, search,
tags, params, status, metrics, deletion, and their links to runs (a run's
model outputs and inputs). MLflow's ``log_model`` needs them: it creates a
logged model, writes the model's files into its artifact location, and
records it as an output of the run; ``runs:/<run_id>/<name>`` URIs find
the model by searching the run's experiment for it. Each method is one
call of the native store's method of the same name."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from mlflow.entities import (
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
)
from mlflow.store.entities.paged_list import PagedList

from .. import _native
from .. import _values as v
from . import _convert as c
from ._errors import translated
from ._uri import local_uri

if TYPE_CHECKING:
    from .._native import DatasetFilterDict, LoggedModelDict, ModelMetricInputDict

#: MLflow's page size of a logged-model search when none is given.
SEARCH_MAX_RESULTS_DEFAULT = 100


def logged_model(d: LoggedModelDict) -> LoggedModel:
    return LoggedModel(
        experiment_id=d["experiment_id"],
        model_id=d["model_id"],
        name=d["name"],
        artifact_location=local_uri(d["artifact_location"]),
        creation_timestamp=d["creation_timestamp"],
        last_updated_timestamp=d["last_updated_timestamp"],
        model_type=d["model_type"],
        source_run_id=d["source_run_id"],
        status=LoggedModelStatus(d["status"]),
        tags=dict(d["tags"]),
        params=dict(d["params"]),
        metrics=[
            Metric(
                m["key"],
                m["value"],
                m["timestamp"],
                m["step"],
                model_id=m["model_id"],
                dataset_name=m["dataset_name"],
                dataset_digest=m["dataset_digest"],
                run_id=m["run_id"],
            )
            for m in d["metrics"]
        ],
    )


def _status(status: Any) -> str:
    if isinstance(status, int):  # a LoggedModelStatus is a str
        status = LoggedModelStatus.from_int(status)
    return str(status)


def _str_dict(items: Any, what: str) -> dict[str, str]:
    """Tags or params given as MLflow's key/value objects or as a dict."""
    if not items:
        return {}
    if isinstance(items, Mapping):
        return v.str_dict(items, what)
    return dict(c.pairs(items, what))


def _model_metric(run_id: str, m: Any) -> ModelMetricInputDict:
    key, value, timestamp, step = c.metric_tuple(m)
    return {
        "model_id": m.model_id,
        "key": key,
        "value": value,
        "timestamp": timestamp,
        "step": step,
        "run_id": getattr(m, "run_id", None) or run_id,
        "dataset_name": getattr(m, "dataset_name", None),
        "dataset_digest": getattr(m, "dataset_digest", None),
    }


class LoggedModelsMixin:
    """The logged-model methods of :class:`TrackliteStore`."""

    _native: _native.Store

    def _model_links(self, run_id: str) -> tuple[list[LoggedModelInput], list[LoggedModelOutput]]:
        """The run's model inputs and outputs."""
        inputs = [LoggedModelInput(i) for i in self._native.run_model_inputs(run_id)]
        outputs = [
            LoggedModelOutput(o["model_id"], o["step"]) for o in self._native.run_outputs(run_id)
        ]
        return inputs, outputs

    def _record_model_metrics(self, run_id: str, metrics: Sequence[Any]) -> None:
        """Keeps the metrics that name a logged model as that model's too."""
        points = [_model_metric(run_id, m) for m in metrics if getattr(m, "model_id", None)]
        if points:
            self._native.log_model_metrics(points)

    def _log_model_inputs(self, run_id: str, models: Sequence[Any]) -> None:
        self._native.log_model_inputs(run_id, [m.model_id for m in models])

    def _record_history(self, run_id: str, model_dict: dict[str, Any]) -> None:
        """Appends a model's description to the run's model history tag,
        atomically, in the store."""
        self._native.record_logged_model(run_id, json.dumps(model_dict))

    @translated
    def log_outputs(self, run_id: str, models: Sequence[Any]) -> None:
        """Records logged models as outputs of a run."""
        self._native.log_outputs(run_id, [(m.model_id, int(m.step)) for m in models])

    @translated
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Any = None,
        params: Any = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """Creates a logged model (id ``m-<32 hex>``) in an experiment, PENDING, with its artifact
        folder."""
        d = self._native.create_logged_model(
            str(experiment_id),
            name,
            source_run_id,
            _str_dict(tags, "logged model tags"),
            _str_dict(params, "logged model params"),
            model_type,
        )
        return logged_model(d)

    @translated
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """The logged model ``model_id``; deleted ones only with ``allow_deleted``."""
        return logged_model(self._native.get_logged_model(model_id, allow_deleted))

    @translated
    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[Any] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """One page of logged models of the experiments, filtered and ordered as MLflow's store
        does."""
        found, token = self._native.search_logged_models(
            [str(e) for e in experiment_ids],
            filter_string or "",
            # MLflow's dataset filters; the native store checks their items.
            [cast("DatasetFilterDict", d) for d in datasets or ()],
            SEARCH_MAX_RESULTS_DEFAULT if max_results is None else max_results,
            list(order_by or ()),
            page_token,
        )
        return PagedList([logged_model(d) for d in found], token)

    @translated
    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        """Sets a logged model's final status (READY or FAILED) and returns it."""
        return logged_model(self._native.finalize_logged_model(model_id, _status(status)))

    @translated
    def set_logged_model_tags(self, model_id: str, tags: Any) -> None:
        """Sets tags of a logged model."""
        self._native.set_logged_model_tags(model_id, _str_dict(tags, "logged model tags"))

    @translated
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Deletes a tag of a logged model."""
        self._native.delete_logged_model_tag(model_id, key)

    @translated
    def log_logged_model_params(self, model_id: str, params: Any) -> None:
        """Logs params of a logged model."""
        self._native.log_logged_model_params(model_id, _str_dict(params, "logged model params"))

    @translated
    def delete_logged_model(self, model_id: str) -> None:
        """Marks a logged model deleted."""
        self._native.delete_logged_model(model_id)
