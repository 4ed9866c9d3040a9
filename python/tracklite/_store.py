"""The native API: :class:`Store`, an open store directory, and
:class:`RunHandle`, a run being logged to through its fast metric writer.

These are thin, typed wrappers over ``tracklite._native``: records come
back as :mod:`tracklite.entities` objects (a run read back is a
:class:`tracklite.entities.Run`, as in MLflow) and metric histories as
numpy arrays. ``RunHandle.log_metric`` *is* the native writer's method, so
a call costs no Python frame at all.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from . import _artifacts, _media, _native
from . import _values as v
from ._registry import RegistryMethods
from .entities import (
    Experiment,
    FileInfo,
    Metric,
    PagedList,
    Run,
    RunInfo,
    ViewType,
)
from .errors import InvalidStateError, InvalidValueError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

__all__ = ["MetricHistory", "RunHandle", "Store"]

#: The page size MLflow's client uses when none is given.
SEARCH_MAX_RESULTS_DEFAULT = 1000
# MLflow's log_batch limits, used to split larger batches.
_BATCH_PARAMS = 100
_BATCH_TAGS = 100
_BATCH_METRICS = 1000


class MetricHistory(NamedTuple):
    """Every point of one metric of one run, in the order logged, as
    numpy columns: ``steps`` (int64), ``timestamps`` (int64, ms) and
    ``values`` (float64)."""

    steps: npt.NDArray[np.int64]
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def to_pandas(self) -> pd.DataFrame:
        """The history as a pandas DataFrame: columns ``step``,
        ``timestamp`` (ms since the epoch), ``time`` (UTC datetimes) and
        ``value``, one row per point in the order logged."""
        from ._frame import history_frame

        return history_frame(self.steps, self.timestamps, self.values)

    def _repr_html_(self) -> str:
        from ._html import history_html

        return history_html(self)


def _experiment_ids(ids: str | int | Iterable[str | int]) -> list[str]:
    if isinstance(ids, (str, int)):
        return [str(ids)]
    return [str(i) for i in ids]


class Store(RegistryMethods):
    """An open store directory, created when missing, with its model
    registry (``create_registered_model``, ``create_model_version``,
    ``set_registered_model_alias``, ``search_model_versions``, ...: the
    methods of :class:`tracklite.MlflowClient` of the same names).

    >>> store = tracklite.Store("runs")                        # doctest: +SKIP
    >>> with store.start_run(experiment="iris") as run:        # doctest: +SKIP
    ...     run.log_param("lr", 0.01)
    ...     for step in range(100):
    ...         run.log_metric("loss", 1 / (step + 1), step=step)
    >>> store.metric_history(run.run_id, "loss").values        # doctest: +SKIP

    Safe to share between threads; several processes may open the same
    store at once. After ``os.fork()`` the child reopens its own handles.

    ``read_only=True`` opens an existing store without creating or writing
    anything, so that a store on a full disk, on read-only media or without
    write permission can still be read; every change then raises
    ``InvalidStateError``.
    """

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self._native = _native.Store(os.fspath(path), read_only)

    @property
    def _registry(self) -> _native.Store:
        return self._native

    @property
    def read_only(self) -> bool:
        """Whether the store was opened with ``read_only=True``."""
        return self._native.read_only

    @classmethod
    def _wrap(cls, native: _native.Store) -> Store:
        store = cls.__new__(cls)
        store._native = native
        return store

    @property
    def path(self) -> str:
        """The store's directory, absolute."""
        return self._native.path

    @property
    def artifact_root(self) -> str:
        """The folder holding the runs' artifacts."""
        return self._native.artifact_root

    def __repr__(self) -> str:
        return f"tracklite.Store({self.path!r})"

    # Experiments

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Creates an experiment and returns its id. Names are unique."""
        return self._native.create_experiment(
            name, artifact_location, v.str_dict(tags, "experiment tags")
        )

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        """The experiment with this id, deleted or not; NotFoundError if none."""
        return Experiment._from_native(self._native.get_experiment(str(experiment_id)))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name`` (deleted or not), or None."""
        d = self._native.get_experiment_by_name(name)
        return None if d is None else Experiment._from_native(d)

    def experiment_id_for(self, name: str) -> str:
        """The id of the active experiment called ``name``, created when missing."""
        return self._native.experiment_id_for(name)

    def list_experiments(self, view_type: int | str = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        """Every experiment of the view type (default: the active ones)."""
        return [
            Experiment._from_native(d) for d in self._native.list_experiments(v.view(view_type))
        ]

    def search_experiments(
        self,
        view_type: int | str = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """One page of experiments matching an MLflow filter such as
        ``"name LIKE 'vision-%' AND tags.team = 'cv'"``."""
        found, token = self._native.search_experiments(
            v.view(view_type), filter_string or "", max_results, list(order_by or ()), page_token
        )
        return PagedList([Experiment._from_native(d) for d in found], token)

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        """Renames an experiment; the new name must be free."""
        self._native.rename_experiment(str(experiment_id), new_name)

    def delete_experiment(self, experiment_id: str | int) -> None:
        """Marks an experiment and its runs deleted (restorable)."""
        self._native.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str | int) -> None:
        """Restores a deleted experiment and its runs."""
        self._native.restore_experiment(str(experiment_id))

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: Any) -> None:
        """Sets a tag of an experiment (as ``str(value)``)."""
        self._native.set_experiment_tag(str(experiment_id), key, v.text(value))

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        """Deletes a tag of an experiment."""
        self._native.delete_experiment_tag(str(experiment_id), key)

    # Runs

    def start_run(
        self,
        experiment: str | None = None,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        experiment_id: str | int | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
        user_id: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> RunHandle:
        """Starts a run (or resumes run ``run_id``) and returns its handle,
        ready to log.

        The run goes into experiment ``experiment`` (a name; created when
        missing) or ``experiment_id``; by default into "Default" (id "0").
        ``params`` (each as ``str(value)``) are logged with a new run's
        creation, in the same commit. Use it as a context manager to end it
        FINISHED, or FAILED when the block raises; otherwise call
        :meth:`RunHandle.end`.
        """
        if experiment is not None and experiment_id is not None:
            raise InvalidValueError("give experiment (a name) or experiment_id, not both")
        tag_values = v.str_dict(tags, "run tags")
        if run_id is not None:
            if self._native.get_run_info(run_id)["lifecycle_stage"] == "deleted":
                raise InvalidStateError(
                    f"cannot resume run {run_id}: it is deleted; restore it first"
                )
            info = self._native.update_run(run_id, "RUNNING", None, run_name)
            if tag_values:
                self.set_tags(run_id, tag_values)
            if params:
                self.log_params(run_id, params)
        else:
            if experiment is not None:
                experiment_id = self._native.experiment_id_for(experiment)
            info = self._native.create_run(
                "0" if experiment_id is None else str(experiment_id),
                run_name,
                tag_values,
                start_time,
                user_id,
                parent_run_id,
                v.str_dict(params, "params"),
            )
        return RunHandle(self, RunInfo._from_native(info), self._native.writer(info["run_id"]))

    def create_run(
        self,
        experiment_id: str | int = "0",
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        start_time: int | None = None,
        user_id: str | None = None,
        parent_run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Run:
        """Creates a RUNNING run and returns it (without a writer); ``params``
        (each as ``str(value)``) are logged in the same commit."""
        info = self._native.create_run(
            str(experiment_id),
            run_name,
            v.str_dict(tags, "run tags"),
            start_time,
            user_id,
            parent_run_id,
            v.str_dict(params, "params"),
        )
        return Run(RunInfo._from_native(info), None)

    def get_run(self, run_id: str) -> Run:
        """The run with its params, tags, latest metrics and inputs."""
        return Run._from_native(self._native.get_run(run_id))

    def get_run_info(self, run_id: str) -> RunInfo:
        """The run's info alone (no params, tags or metrics): cheaper than :meth:`get_run`."""
        return RunInfo._from_native(self._native.get_run_info(run_id))

    def update_run(
        self,
        run_id: str,
        status: str | int | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Changes a run's status, end time or name (None leaves each as it is); returns the new
        info."""
        st = None if status is None else v.status(status)
        return RunInfo._from_native(self._native.update_run(run_id, st, end_time, run_name))

    def end_run(self, run_id: str, status: str | int = "FINISHED") -> RunInfo:
        """Sets the run's status and its end time (now)."""
        return RunInfo._from_native(self._native.end_run(run_id, v.status(status)))

    def delete_run(self, run_id: str) -> None:
        """Marks a run deleted (restorable until :meth:`gc`)."""
        self._native.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Restores a deleted run."""
        self._native.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: str | int | Iterable[str | int] | None = None,
        filter_string: str = "",
        view_type: int | str = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """One page of runs matching an MLflow filter such as
        ``"metrics.acc > 0.9 AND params.optimizer = 'adam'"``, ordered by
        ``order_by`` (such as ``["metrics.acc DESC"]``; default: newest
        first). ``experiment_ids=None`` searches every experiment."""
        if experiment_ids is None:
            ids = [e["experiment_id"] for e in self._native.list_experiments("all")]
        else:
            ids = _experiment_ids(experiment_ids)
        if isinstance(order_by, str):
            order_by = [order_by]
        found, token = self._native.search_runs(
            ids,
            filter_string or "",
            v.view(view_type),
            max_results,
            list(order_by or ()),
            page_token,
        )
        return PagedList([Run._from_native(d) for d in found], token)

    # Params, tags, metrics

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        """Logs a param (as ``str(value)``). Logging it again with another
        value raises ParamChangedError."""
        self._native.log_param(run_id, key, v.text(value))

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Logs several params (each as ``str(value)``), in batches of 100."""
        pairs = list(v.str_dict(params, "params").items())
        for chunk in v.chunks(pairs, _BATCH_PARAMS):
            self._native.log_batch(run_id, (), chunk, ())

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Sets a tag of a run (as ``str(value)``), replacing its value."""
        self._native.set_tag(run_id, key, v.text(value))

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Sets several tags of a run."""
        pairs = list(v.str_dict(tags, "tags").items())
        for chunk in v.chunks(pairs, _BATCH_TAGS):
            self._native.log_batch(run_id, (), (), chunk)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Deletes a tag of a run; NotFoundError if it has none."""
        self._native.delete_tag(run_id, key)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Logs one point. For many points, :meth:`start_run` gives a
        :class:`RunHandle` whose writer is much faster."""
        self._native.log_metric(
            run_id,
            v.key(key, "metric"),
            v.metric_value(key, value),
            v.timestamp(timestamp),
            v.step(step),
        )

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Logs one point of each metric, all at the same step and time."""
        ts, st = v.timestamp(timestamp), v.step(step)
        if not isinstance(metrics, Mapping):
            raise InvalidValueError(f"metrics must be a dict, not {type(metrics).__name__}")
        batch = [(v.key(k, "metric"), v.metric_value(k, x), ts, st) for k, x in metrics.items()]
        for chunk in v.chunks(batch, _BATCH_METRICS):
            self._native.log_batch(run_id, chunk, (), ())

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Any] = (),
        params: Iterable[Any] = (),
        tags: Iterable[Any] = (),
    ) -> None:
        """Logs metrics, params and tags at once, within MLflow's batch
        limits (1000 metrics, 100 params, 100 tags, 1000 in all): all or
        nothing. Entries are objects with ``key``/``value`` (and metrics
        ``timestamp``/``step``), MLflow's entities included, or tuples."""
        self._native.log_batch(
            run_id,
            [v.metric_tuple(m) for m in metrics],
            [v.pair(p, "param") for p in params],
            [v.pair(t, "tag") for t in tags],
        )

    def metric_history(self, run_id: str, key: str) -> MetricHistory:
        """Every point of a metric, in the order logged, as numpy arrays."""
        return MetricHistory(*self._native.metric_history(run_id, key))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of a metric, in the order logged, as Metric objects."""
        steps, timestamps, values = self._native.metric_history(run_id, key)
        return [
            Metric(key, x, t, s)
            for s, t, x in zip(steps.tolist(), timestamps.tolist(), values.tolist())
        ]

    def log_input(
        self,
        run_id: str,
        dataset: Any,
        context: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Records a dataset as an input of the run (a dict, or an object
        with name, digest, source_type, source, schema and profile)."""
        self._native.log_inputs(run_id, [v.dataset_input(dataset, context, tags)])

    def writer(self, run_id: str) -> _native.RunWriter:
        """A native writer of the run's metrics (see :class:`RunHandle`)."""
        return self._native.writer(run_id)

    # Artifacts

    def artifact_dir(self, run_id: str) -> str:
        """The run's artifact folder on disk."""
        return os.fspath(self._native.artifact_dir(run_id))

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copies a file into the run's artifacts (under ``artifact_path``)."""
        self._native.log_artifact(run_id, os.fspath(local_path), artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copies a folder's contents into the run's artifacts."""
        self._native.log_artifacts(run_id, os.fspath(local_dir), artifact_path)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        """Writes ``data`` as the artifact ``artifact_file`` of the run."""
        self._native.log_artifact_bytes(run_id, artifact_file, bytes(data))

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Writes ``text`` (UTF-8) as the artifact ``artifact_file``."""
        self._native.log_artifact_bytes(run_id, artifact_file, _artifacts.text_bytes(text))

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Writes a dict as JSON, or as YAML for .yaml/.yml files (with PyYAML)."""
        data = _artifacts.dict_bytes(dictionary, artifact_file)
        self._native.log_artifact_bytes(run_id, artifact_file, data)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Saves a matplotlib or plotly figure as the artifact ``artifact_file``."""
        with _artifacts.temp_artifact(artifact_file) as (path, folder):
            _artifacts.save_figure(figure, path, save_kwargs)
            self._native.log_artifact(run_id, path, folder)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        *,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Logs an image (a numpy array HxW, HxWx3 or HxWx4 of uint8, or of
        floats in [0, 1]; or a PIL image) as the artifact ``artifact_file``,
        or as step ``step`` of the image series ``key`` (shown by MLflow's
        UI). A ``.png`` of an array needs nothing but numpy; other formats,
        PIL images and the ``key`` form need Pillow."""
        _media.log_image(self, run_id, image, artifact_file, key, step, timestamp)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Logs a table (a dict of columns, or a pandas DataFrame) as the
        JSON artifact ``artifact_file`` in MLflow's format
        (``{"columns": [...], "data": [[...], ...]}``); rows logged to an
        existing table are appended."""
        _media.log_table(self, run_id, data, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The artifacts of a run directly under ``path`` (default: its root)."""
        return [
            FileInfo(f["path"], f["is_dir"], f["file_size"])
            for f in self._native.list_artifacts(run_id, path)
        ]

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of the run's artifact file ``path``."""
        return self._native.read_artifact(run_id, path)

    def download_artifacts(
        self, run_id: str, path: str | None = None, dst_path: str | os.PathLike[str] | None = None
    ) -> str:
        """Copies an artifact (file or folder; all when ``path`` is None)
        into ``dst_path`` (a new temporary folder by default) and returns
        the local path of the copy."""
        dest = tempfile.mkdtemp(prefix="tracklite-") if dst_path is None else os.fspath(dst_path)
        return os.fspath(self._native.download_artifacts(run_id, path, dest))

    # Maintenance

    def flush(self) -> None:
        """Makes logged points visible to other processes and syncs them."""
        self._native.flush()

    def check(self, repair: bool = False) -> dict[str, Any]:
        """Checks the store's files and index (repairing what it can with ``repair=True``); returns
        the report."""
        return self._native.check(repair)

    def gc(self, run_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """Removes soft-deleted runs for good (all, or those listed)."""
        return self._native.gc(None if run_ids is None else list(run_ids))

    def compact(self) -> dict[str, Any]:
        """Rewrites the metric log without the points of removed runs; returns what it freed."""
        return self._native.compact()


class RunHandle:
    """A run being logged to: made by :meth:`Store.start_run`.

    The handle of a live run, not the run's record: :meth:`fetch` reads
    the run back as a :class:`tracklite.entities.Run` (MLflow's
    ``mlflow.entities.Run``).

    ``log_metric``, ``log_metrics`` and ``log_metric_array`` are the
    native writer's own methods: points go straight into the store's
    memory-mapped log, and are durable once a call returns. As a context
    manager the run ends FINISHED, or FAILED if the block raises.
    """

    def __init__(self, store: Store, info: RunInfo, writer: _native.RunWriter) -> None:
        self._store = store
        self._info = info
        self._writer = writer
        self._ended = False
        self.run_id: str = info.run_id
        # The hot path: no Python frame between the caller and the writer.
        self.log_metric = writer.log_metric  # type: ignore[method-assign]
        self.log_metrics = writer.log_metrics  # type: ignore[method-assign]
        self.log_metric_array = writer.log_metric_array  # type: ignore[method-assign]

    # These three are replaced per instance by the writer's methods; the
    # definitions give their signatures and documentation.

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Logs one point; ``step`` defaults to 0, ``timestamp`` to now (ms)."""
        self._writer.log_metric(key, value, step, timestamp)

    def log_metrics(
        self, metrics: dict[str, float], step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Logs one point of each metric, all at the same step and time."""
        self._writer.log_metrics(metrics, step, timestamp)

    def log_metric_array(
        self,
        key: str,
        values: npt.ArrayLike,
        steps: npt.ArrayLike | None = None,
        timestamps: npt.ArrayLike | None = None,
    ) -> None:
        """Logs many points of one metric from arrays; steps default to
        0..n-1 and timestamps to now."""
        self._writer.log_metric_array(key, values, steps, timestamps)

    @property
    def store(self) -> Store:
        """The store the run is in."""
        return self._store

    @property
    def info(self) -> RunInfo:
        """The run's info as of its start (or its end, once ended)."""
        return self._info

    @property
    def experiment_id(self) -> str:
        """The id of the run's experiment."""
        return self._info.experiment_id

    @property
    def ended(self) -> bool:
        """Whether :meth:`end` was called."""
        return self._ended

    def __repr__(self) -> str:
        state = "ended" if self._ended else "running"
        return f"<tracklite.RunHandle {self.run_id} ({state}) in {self._store.path!r}>"

    def _repr_html_(self) -> str:
        """The run as stored now, as HTML (see :meth:`fetch`)."""
        return self.fetch()._repr_html_()

    def log_param(self, key: str, value: Any) -> None:
        """Logs a param (as ``str(value)``); params are immutable."""
        self._store.log_param(self.run_id, key, value)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Logs several params."""
        self._store.log_params(self.run_id, params)

    def set_tag(self, key: str, value: Any) -> None:
        """Sets a tag of the run."""
        self._store.set_tag(self.run_id, key, value)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Sets several tags of the run."""
        self._store.set_tags(self.run_id, tags)

    def delete_tag(self, key: str) -> None:
        """Deletes a tag of the run."""
        self._store.delete_tag(self.run_id, key)

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copies a file into the run's artifacts (under ``artifact_path``)."""
        self._store.log_artifact(self.run_id, local_path, artifact_path)

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copies a folder's contents into the run's artifacts."""
        self._store.log_artifacts(self.run_id, local_dir, artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        """Writes ``text`` (UTF-8) as the artifact ``artifact_file``."""
        self._store.log_text(self.run_id, text, artifact_file)

    def log_dict(self, dictionary: Any, artifact_file: str) -> None:
        """Writes a dict as JSON, or as YAML for .yaml/.yml files (with PyYAML)."""
        self._store.log_dict(self.run_id, dictionary, artifact_file)

    def log_figure(
        self, figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
    ) -> None:
        """Saves a matplotlib or plotly figure as the artifact ``artifact_file``."""
        self._store.log_figure(self.run_id, figure, artifact_file, save_kwargs=save_kwargs)

    def log_image(
        self,
        image: Any,
        artifact_file: str | None = None,
        *,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Logs an image artifact (see :meth:`Store.log_image`)."""
        self._store.log_image(
            self.run_id, image, artifact_file, key=key, step=step, timestamp=timestamp
        )

    def log_table(self, data: Any, artifact_file: str) -> None:
        """Logs a table artifact (see :meth:`Store.log_table`)."""
        self._store.log_table(self.run_id, data, artifact_file)

    def log_input(
        self, dataset: Any, context: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> None:
        """Records a dataset as an input of the run (see :meth:`Store.log_input`)."""
        self._store.log_input(self.run_id, dataset, context, tags)

    def metric_history(self, key: str) -> MetricHistory:
        """Every point of the run's metric ``key``, as numpy arrays."""
        return self._store.metric_history(self.run_id, key)

    def fetch(self) -> Run:
        """The run as stored now: info, params, tags, latest metrics."""
        return self._store.get_run(self.run_id)

    def flush(self) -> None:
        """Makes the points logged so far visible to other processes."""
        self._writer.flush()

    def end(self, status: str | int = "FINISHED") -> RunInfo:
        """Closes the writer and sets the run's status and end time. Later
        metric calls raise InvalidStateError; ending again does nothing."""
        if not self._ended:
            st = v.status(status)
            self._ended = True
            # The writer's blocks are sealed and the run ended in one commit;
            # a writer closed already leaves the end to the store.
            info = self._writer.end_run(st)
            if info is None:
                self._info = self._store.end_run(self.run_id, st)
            else:
                self._info = RunInfo._from_native(info)
        return self._info

    def __enter__(self) -> RunHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end("FINISHED" if exc_type is None else "FAILED")
