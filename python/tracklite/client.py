"""``MlflowClient``: MLflow's lower-level client, over a tracklite store.

Every call names its run or experiment by id; nothing depends on an
active run. The methods take MLflow's arguments in MLflow's order::

    client = MlflowClient()                    # the current tracking store
    exp_id = client.create_experiment("sweep")
    run = client.create_run(exp_id, run_name="trial-1")
    client.log_batch(run.info.run_id, metrics=[Metric("acc", 0.9, ts, 0)])
    client.set_terminated(run.info.run_id)

The registry methods (``create_registered_model``, ``create_model_version``,
``set_registered_model_alias``, ``get_model_version_by_alias``, ...) come
from :class:`tracklite._registry.RegistryMethods`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import _native, _tracking
from . import _values as v
from ._registry import RegistryMethods
from ._store import SEARCH_MAX_RESULTS_DEFAULT, Store
from .entities import Experiment, FileInfo, Metric, PagedList, Run, ViewType

__all__ = ["MlflowClient"]

# MLflow's log_batch limits: larger batches are split, as MLflow's client does.
_MAX_METRICS, _MAX_PARAMS, _MAX_TAGS, _MAX_ENTRIES = 1000, 100, 100, 1000


class MlflowClient(RegistryMethods):
    """A client of one tracklite store: the one ``tracking_uri`` names (a
    path or a ``tracklite:`` URI), else the current tracking store. The
    store also keeps the model registry (``registry_uri`` is not used):
    registered models, versions, stages, tags and aliases (see
    :mod:`tracklite._registry`)."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self._tracking_uri = (
            tracking_uri if tracking_uri is not None else _tracking.get_tracking_uri()
        )
        self._store = _tracking.open_store(self._tracking_uri)

    @property
    def tracking_uri(self) -> str:
        """The tracking URI of the client's store, as given."""
        return self._tracking_uri

    @property
    def store(self) -> Store:
        """The tracklite store behind this client (the native API)."""
        return self._store

    @property
    def _registry(self) -> _native.Store:
        return self._store._native

    # Experiments

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Creates an experiment and returns its id."""
        return self._store.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id; NotFoundError if none."""
        return self._store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name``, or None."""
        return self._store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """One page of experiments matching an MLflow filter; ``token`` of the result gives the
        next."""
        return self._store.search_experiments(
            view_type,
            SEARCH_MAX_RESULTS_DEFAULT if max_results is None else max_results,
            filter_string,
            order_by,
            page_token,
        )

    def delete_experiment(self, experiment_id: str) -> None:
        """Marks an experiment and its runs deleted (restorable)."""
        self._store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restores a deleted experiment."""
        self._store.restore_experiment(experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Renames an experiment."""
        self._store.rename_experiment(experiment_id, new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Sets a tag of an experiment."""
        self._store.set_experiment_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Deletes a tag of an experiment."""
        self._store.delete_experiment_tag(experiment_id, key)

    # Runs

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Creates a RUNNING run. Unlike ``start_run`` it does not become
        active: log to it by id, and end it with :meth:`set_terminated`."""
        tag_values = v.str_dict(tags, "tags")
        if run_name:
            tag_values[v.RUN_NAME_TAG] = run_name
        run = self._store.create_run(
            experiment_id,
            run_name or None,
            tag_values,
            start_time,
            tag_values.get("mlflow.user"),
        )
        return self._store.get_run(run.info.run_id)

    def get_run(self, run_id: str) -> Run:
        """The run with its params, tags, latest metrics and inputs."""
        return self._store.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        """The run's parent (from its ``mlflow.parentRunId`` tag), or None."""
        parent = self._store.get_run(run_id).data.tags.get(v.PARENT_RUN_TAG)
        return None if parent is None else self._store.get_run(parent)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Changes a run's status or name."""
        self._store.update_run(run_id, status, None, name)

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        """Ends a run: status (default FINISHED) and end time (default now)."""
        self._store.update_run(
            run_id, status or "FINISHED", end_time if end_time is not None else v.now_ms()
        )

    def delete_run(self, run_id: str) -> None:
        """Marks a run deleted (restorable)."""
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Restores a deleted run."""
        self._store.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: list[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """One page of runs; pass the list's ``token`` for the next page."""
        return self._store.search_runs(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
        )

    # Metrics, params, tags

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> None:
        """Logs one point of a metric: ``timestamp`` defaults to now (ms), ``step`` to 0."""
        self._store.log_metric(run_id, key, value, step, timestamp)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of the metric, in the order logged."""
        return self._store.get_metric_history(run_id, key)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Logs a param (as ``str(value)``) and returns ``value``."""
        self._store.log_param(run_id, key, value)
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Sets a tag of a run (as ``str(value)``)."""
        self._store.set_tag(run_id, key, value)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Deletes a tag of a run."""
        self._store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Any] = (),
        params: Iterable[Any] = (),
        tags: Iterable[Any] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Logs metrics, params and tags: any objects with ``key`` and
        ``value`` (metrics also ``timestamp`` and ``step``), such as
        tracklite's or MLflow's Metric, Param and RunTag. A batch within
        MLflow's limits is written all or nothing; a larger one is split."""
        m = [v.metric_tuple(x) for x in metrics]
        p = [v.pair(x, "param") for x in params]
        t = [v.pair(x, "tag") for x in tags]
        native = self._store._native
        if (
            len(m) <= _MAX_METRICS
            and len(p) <= _MAX_PARAMS
            and len(t) <= _MAX_TAGS
            and len(m) + len(p) + len(t) <= _MAX_ENTRIES
        ):
            native.log_batch(run_id, m, p, t)
            return
        for chunk in v.chunks(p, _MAX_PARAMS):
            native.log_batch(run_id, (), chunk, ())
        for chunk in v.chunks(t, _MAX_TAGS):
            native.log_batch(run_id, (), (), chunk)
        for chunk in v.chunks(m, _MAX_METRICS):
            native.log_batch(run_id, chunk, (), ())

    def log_inputs(
        self, run_id: str, datasets: Sequence[Any] | None = None, models: Any = None
    ) -> None:
        """Records dataset inputs: objects with ``dataset`` and ``tags``
        (such as :class:`~tracklite.entities.DatasetInput`)."""
        if datasets:
            self._store._native.log_inputs(
                run_id, [v.dataset_input_from_entity(d) for d in datasets]
            )

    # Artifacts

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copies a file into the run's artifacts (under ``artifact_path``)."""
        self._store.log_artifact(run_id, local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copies a folder's contents into the run's artifacts."""
        self._store.log_artifacts(run_id, local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Writes ``text`` (UTF-8) as the artifact ``artifact_file``."""
        self._store.log_text(run_id, text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Writes a dict as JSON, or as YAML for .yaml/.yml files (with PyYAML)."""
        self._store.log_dict(run_id, dictionary, artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Saves a matplotlib or plotly figure as the artifact ``artifact_file``."""
        self._store.log_figure(run_id, figure, artifact_file, save_kwargs=save_kwargs)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Logs an image (numpy array or PIL image) as ``artifact_file``, or
        as step ``step`` of the image series ``key`` (see
        :meth:`tracklite.Store.log_image`)."""
        self._store.log_image(run_id, image, artifact_file, key=key, step=step, timestamp=timestamp)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Logs a table (dict of columns or DataFrame) as a JSON artifact in
        MLflow's format, appending to an existing one (see
        :meth:`tracklite.Store.log_table`)."""
        self._store.log_table(run_id, data, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The run's artifacts directly under ``path`` (default: its root)."""
        return self._store.list_artifacts(run_id, path)

    def download_artifacts(
        self, run_id: str, path: str, dst_path: str | os.PathLike[str] | None = None
    ) -> str:
        """Copies an artifact (file or folder; ``""`` for all) to
        ``dst_path`` (a new temporary folder by default); returns its local path."""
        return self._store.download_artifacts(run_id, path or None, dst_path)
