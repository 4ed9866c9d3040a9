"""``TrackliteStore``: MLflow's tracking-store interface over a tracklite
store. MLflow's client, fluent API, autologging and server call it as
they call their own stores."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mlflow.entities import (
    Experiment,
    Metric,
    Run,
    RunInfo,
    RunStatus,
)

# MLflow's entity of a dataset summary (DatasetSummary there is its proto message).
from mlflow.entities.dataset_summary import _DatasetSummary as DatasetSummary
from mlflow.entities.metric import MetricWithRunId
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT
from mlflow.store.tracking.abstract_store import AbstractStore

from .. import _native
from .. import _values as v
from . import _convert as c
from . import _history, _models, _unsupported
from ._errors import translated
from ._uri import local_uri, store_path


def _status_name(status: Any) -> str | None:
    if status is None:
        return None
    if isinstance(status, str):
        RunStatus.from_string(status)  # checks the name
        return status
    return RunStatus.to_string(status)


def _tag_dict(tags: Any, what: str) -> dict[str, str]:
    """Tags given as MLflow tag objects (a list) or a dict."""
    if not tags:
        return {}
    if isinstance(tags, dict):
        return v.str_dict(tags, what)
    return dict(c.pairs(tags, what))


class TrackliteStore(_models.LoggedModelsMixin, AbstractStore):
    """An MLflow tracking store kept in a tracklite store folder.

    MLflow builds it from a URI (``tracklite:./runs``,
    ``tracklite:///abs/path``): ``mlflow.set_tracking_uri("tracklite:./runs")``,
    ``MLFLOW_TRACKING_URI``, ``mlflow server --backend-store-uri ...``.
    Runs keep their artifacts in the store's own folders, given to MLflow
    as ``file://`` URIs, so MLflow's local artifact repository reads and
    writes them. Features a tracklite store does not keep (traces, GenAI
    evaluation datasets, scorers, gateway, ...) raise an
    ``MlflowException`` with error code ``NOT_IMPLEMENTED``.
    """

    if TYPE_CHECKING:
        # An abstract method of MLflow's interface that _unsupported.install,
        # at the end of this file, gives a body raising NOT_IMPLEMENTED.
        link_traces_to_run: Callable[..., Any]

    def __init__(self, store_uri: str, artifact_uri: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # MLflow's, not annotated
        self._store_uri = store_uri
        # MLflow's server passes its default artifact root; a tracklite store
        # keeps every run's artifacts in its own folder instead.
        self._default_artifact_uri = artifact_uri
        self._native = self._open(store_path(self._store_uri))
        self._held_history: tuple[str, str, _history.Columns, _history.Links] | None = None

    @staticmethod
    @translated
    def _open(path: str) -> _native.Store:
        return _native.Store(path)

    @property
    def store_uri(self) -> str:
        """The ``tracklite:`` URI the store was opened with."""
        return self._store_uri

    @property
    def path(self) -> str:
        """The store's folder."""
        return self._native.path

    @property
    def artifact_root_uri(self) -> str:
        """The ``file://`` URI of the folder holding the runs' artifacts."""
        return local_uri(self._native.artifact_root)

    def __repr__(self) -> str:
        return f"TrackliteStore({self._store_uri!r})"

    # Experiments

    @translated
    def search_experiments(
        self,
        view_type: Any = None,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        found, token = self._native.search_experiments(
            c.view(view_type), filter_string or "", max_results, list(order_by or ()), page_token
        )
        return PagedList([c.experiment(d) for d in found], token)

    @translated
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Any = None
    ) -> str:
        return self._native.create_experiment(
            name, artifact_location or None, _tag_dict(tags, "experiment tags")
        )

    @translated
    def get_experiment(self, experiment_id: str | int) -> Experiment:
        return c.experiment(self._native.get_experiment(str(experiment_id)))

    @translated
    def get_experiment_by_name(self, experiment_name: str) -> Experiment | None:
        d = self._native.get_experiment_by_name(experiment_name)
        return None if d is None else c.experiment(d)

    @translated
    def delete_experiment(self, experiment_id: str | int) -> None:
        self._native.delete_experiment(str(experiment_id))

    @translated
    def restore_experiment(self, experiment_id: str | int) -> None:
        self._native.restore_experiment(str(experiment_id))

    @translated
    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        self._native.rename_experiment(str(experiment_id), new_name)

    @translated
    def set_experiment_tag(self, experiment_id: str | int, tag: Any) -> None:
        key, value = v.pair(tag, "experiment tag")
        self._native.set_experiment_tag(str(experiment_id), key, value)

    @translated
    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        self._native.delete_experiment_tag(str(experiment_id), key)

    # Runs

    @translated
    def create_run(
        self,
        experiment_id: str | int,
        user_id: str | None = None,
        start_time: int | None = None,
        tags: Any = None,
        run_name: str | None = None,
    ) -> Run:
        info = self._native.create_run(
            "0" if experiment_id is None else str(experiment_id),
            run_name or None,
            _tag_dict(tags, "run tags"),
            start_time,
            user_id,
            None,
        )
        return self.get_run(info["run_id"])

    @translated
    def get_run(self, run_id: str) -> Run:
        return self._run(self._native.get_run(run_id))

    def _run(self, d: Any) -> Run:
        run_id = d["info"]["run_id"]
        inputs, outputs = self._model_links(run_id)
        return c.run(d, inputs, outputs)

    @translated
    def update_run_info(
        self,
        run_id: str,
        run_status: Any = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        info = self._native.update_run(run_id, _status_name(run_status), end_time, run_name or None)
        return c.run_info(info)

    @translated
    def delete_run(self, run_id: str) -> None:
        self._native.delete_run(run_id)

    @translated
    def restore_run(self, run_id: str) -> None:
        self._native.restore_run(run_id)

    @translated
    def _search_runs(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None,
        run_view_type: Any,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> tuple[list[Run], str | None]:
        found, token = self._native.search_runs(
            [str(e) for e in experiment_ids],
            filter_string or "",
            c.view(run_view_type),
            max_results,
            list(order_by or ()),
            page_token,
        )
        return [self._run(d) for d in found], token

    # Params, tags, metrics

    @translated
    def log_batch(
        self, run_id: str, metrics: Sequence[Any], params: Sequence[Any], tags: Sequence[Any]
    ) -> None:
        metrics = list(metrics or ())
        params, tags = list(params or ()), list(tags or ())
        # Plain entities (the common case) are read and logged natively; the
        # Python path below converts the others or refuses them precisely.
        # A metric's dataset_name/dataset_digest stay off the run's history,
        # as in MLflow's SQL store (they are kept with a logged model's
        # metrics); only points imported from an mlruns folder keep theirs.
        if self._native.log_batch_entities(run_id, metrics, params, tags):
            return
        points = c.metric_tuples(metrics)
        if any(getattr(m, "model_id", None) for m in metrics):
            points = self._new_points(run_id, metrics, points)
        params_, tags_ = c.pairs(params, "param"), c.pairs(tags, "tag")
        if points or params_ or tags_:
            self._native.log_batch(run_id, points, params_, tags_)

    def _new_points(
        self, run_id: str, metrics: Sequence[Any], points: list[tuple[str, float, int, int]]
    ) -> list[tuple[str, float, int, int]]:
        """The points to append, less those that re-log a point the run
        already has for a logged model (MLflow's ``log_model`` logs the
        run's metrics at the model's step again, with the model's id)."""
        self._record_model_metrics(run_id, metrics)
        histories: dict[str, set[tuple[int, int, Any]]] = {}
        out = []
        for m, p in zip(metrics, points):
            if getattr(m, "model_id", None):
                if p[0] not in histories:
                    steps, stamps, values = self._native.metric_history(run_id, p[0])
                    histories[p[0]] = {
                        (s, t, _point_value(x))
                        for s, t, x in zip(steps.tolist(), stamps.tolist(), values.tolist())
                    }
                if (p[3], p[2], _point_value(p[1])) in histories[p[0]]:
                    continue
            out.append(p)
        return out

    @translated
    def log_metric(self, run_id: str, metric: Any) -> None:
        if getattr(metric, "model_id", None):
            self.log_batch(run_id, [metric], (), ())
            return
        key, value, timestamp, step = c.metric_tuple(metric)
        self._native.log_metric(run_id, key, value, timestamp, step)

    @translated
    def log_param(self, run_id: str, param: Any) -> None:
        self._native.log_param(run_id, *v.pair(param, "param"))

    @translated
    def set_tag(self, run_id: str, tag: Any) -> None:
        self._native.set_tag(run_id, *v.pair(tag, "tag"))

    @translated
    def delete_tag(self, run_id: str, key: str) -> None:
        """Deletes a tag of a run."""
        self._native.delete_tag(run_id, key)

    @translated
    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Metric]:
        # A paged walk reads the history once: its first page keeps the
        # columns for the pages after it (the history only grows, so they
        # read as a snapshot taken at the first page). The datasets of
        # imported points (usually none: one indexed lookup) go with them.
        held = self._held_history
        if page_token is not None and held is not None and held[:2] == (run_id, metric_key):
            cols, links = held[2], held[3]
        else:
            cols = self._native.metric_history(run_id, metric_key)
            links = self._native.metric_dataset_links(run_id, metric_key)
        page = _history.page(metric_key, cols, max_results, page_token, links)
        self._held_history = None if page.token is None else (run_id, metric_key, cols, links)
        return page

    @translated
    def get_metric_history_bulk(
        self, run_ids: Sequence[str], metric_key: str, max_results: int
    ) -> list[MetricWithRunId]:
        """The points of one metric of several runs, each with its run id
        (``max_results`` in all; see :func:`_history.bulk`)."""
        histories = [self._native.metric_history(r, metric_key) for r in run_ids]
        return _history.bulk(metric_key, list(run_ids), histories, max_results)

    @translated
    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        metric_key: str,
        max_results: int,
        start_step: int | None,
        end_step: int | None,
    ) -> list[MetricWithRunId]:
        histories = [self._native.metric_history(r, metric_key) for r in run_ids]
        return _history.interval(
            metric_key, list(run_ids), histories, max_results, start_step, end_step
        )

    # Inputs and outputs

    @translated
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[Any] | None = None,
        models: Sequence[Any] | None = None,
    ) -> None:
        if datasets:
            self._native.log_inputs(run_id, [v.dataset_input_from_entity(d) for d in datasets])
        if models:
            self._log_model_inputs(run_id, models)
        if not datasets and not models:
            self._native.get_run_info(run_id)  # an unknown run is still an error

    @translated
    def _search_datasets(self, experiment_ids: Sequence[str | int]) -> list[DatasetSummary]:
        """The distinct (experiment, dataset name, digest, context) of the
        runs' dataset inputs, at most 1000, as MLflow's UI lists them for
        its dataset filter."""
        seen: dict[tuple[str, str, str, str | None], None] = {}
        for experiment_id in experiment_ids:
            token = None
            while len(seen) < _MAX_DATASET_SUMMARIES:
                found, token = self._native.search_runs(
                    [str(experiment_id)], "dataset.name LIKE '%'", "all", 1000, (), token
                )
                for d in found:
                    for i in d["inputs"]:
                        ds = i["dataset"]
                        context = i["tags"].get(v.DATASET_CONTEXT_TAG)
                        seen[(str(experiment_id), ds["name"], ds["digest"], context)] = None
                if not token:
                    break
        return [
            DatasetSummary(experiment_id=e, name=name, digest=digest, context=context)
            for e, name, digest, context in list(seen)[:_MAX_DATASET_SUMMARIES]
        ]

    @translated
    def record_logged_model(self, run_id: str, mlflow_model: Any) -> None:
        """Appends the model's description to the run's
        ``mlflow.log-model.history`` tag, as MLflow's stores do."""
        from mlflow.models import Model

        if not isinstance(mlflow_model, Model):
            raise TypeError(
                f"mlflow_model must be an mlflow.models.Model, not {type(mlflow_model).__name__}"
            )
        self._record_history(run_id, mlflow_model.get_tags_dict())

    # Maintenance

    @translated
    def flush(self) -> None:
        """Makes every logged point visible to other processes."""
        self._native.flush()


#: As many dataset summaries as MLflow's database store returns at most.
_MAX_DATASET_SUMMARIES = 1000


def _point_value(x: float) -> Any:
    """A metric value as a set member: NaN equal to NaN."""
    return "nan" if math.isnan(x) else x


_unsupported.install(TrackliteStore)
