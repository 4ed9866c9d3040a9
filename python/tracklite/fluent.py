"""MLflow's fluent tracking functions, over a tracklite store.

``import tracklite as mlflow`` runs the common tracking code unchanged::

    mlflow.set_experiment("iris")
    with mlflow.start_run(run_name="baseline"):
        mlflow.log_params({"lr": 0.01, "epochs": 10})
        for epoch in range(10):
            mlflow.log_metric("loss", loss, step=epoch)

As in MLflow, the stack of active runs belongs to the thread that started
them, a forked child starts with none, and a run still active when the
interpreter exits is ended FINISHED. ``log_metric`` writes straight into
the active run's native writer.
"""

from __future__ import annotations

import atexit
import getpass
import io
import os
import posixpath
import sys
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _media, _mlflow_bridge, _native, _system_metrics, _tracking
from . import _values as v
from ._frame import runs_to_frame
from ._store import Store
from ._tracking import get_tracking_uri, is_tracking_uri_set, set_tracking_uri
from .entities import Experiment, LifecycleStage, PagedList, Run, ViewType
from .errors import (
    AlreadyExistsError,
    InvalidStateError,
    InvalidValueError,
    NotFoundError,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ActiveRun",
    "active_run",
    "autolog",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_stream",
    "log_table",
    "log_text",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

#: Page size of the searches behind ``search_runs`` and ``search_experiments``.
_PAGE = 10_000
_SEARCH_RUNS_MAX_DEFAULT = 100_000
RUN_ID_ENV = "MLFLOW_RUN_ID"
EXPERIMENT_NAME_ENV = "MLFLOW_EXPERIMENT_NAME"
EXPERIMENT_ID_ENV = "MLFLOW_EXPERIMENT_ID"


class ActiveRun(Run):
    """The run returned by :func:`start_run`: a snapshot of the run when
    it started, and a context manager that ends it FINISHED, or FAILED
    when the block raises."""

    def __init__(self, run: Run, store: Store, writer: _native.RunWriter) -> None:
        Run.__init__(self, run.info, run.data, run.inputs)
        self._store = store
        self._writer = writer
        self._resumed = False

    def __enter__(self) -> ActiveRun:
        return self

    def _repr_html_(self) -> str:
        """The run as stored now (not as it started), as HTML."""
        return self._store.get_run(self.info.run_id)._repr_html_()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if any(r.info.run_id == self.info.run_id for r in _runs.stack):
            end_run("FINISHED" if exc_type is None else "FAILED")
        return exc_type is None


class _ThreadRuns(threading.local):
    """One thread's active runs; ``writer`` is the top run's metric writer."""

    writer: _native.RunWriter | None = None
    last_run_id: str | None = None

    def __init__(self) -> None:
        self.stack: list[ActiveRun] = []


_runs = _ThreadRuns()
_active_experiment_id: str | None = None
_experiment_lock = threading.Lock()


def _reset() -> None:
    """Forgets every active run and the active experiment (without ending
    them): a forked child's start, and each test's."""
    global _runs, _active_experiment_id
    _runs = _ThreadRuns()
    _active_experiment_id = None
    _system_metrics.forget_monitors()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset)


def _store() -> Store:
    return _tracking.open_store()


def _store_of(run_id: str) -> Store:
    """The store of a run: an active run's own, else the current one."""
    for r in _runs.stack:
        if r.info.run_id == run_id:
            return r._store
    return _store()


# Experiments


def _experiment_id_from_env(store: Store) -> str | None:
    name = os.environ.get(EXPERIMENT_NAME_ENV)
    exp_id = os.environ.get(EXPERIMENT_ID_ENV)
    if name:
        exp = store.get_experiment_by_name(name)
        if exp is None:
            return store.create_experiment(name)
        if exp_id and exp_id != exp.experiment_id:
            raise InvalidValueError(
                f"{EXPERIMENT_ID_ENV}={exp_id!r} does not match the id "
                f"{exp.experiment_id!r} of experiment {name!r} ({EXPERIMENT_NAME_ENV})"
            )
        return exp.experiment_id
    if exp_id:
        try:
            return store.get_experiment(exp_id).experiment_id
        except NotFoundError as e:
            raise InvalidValueError(
                f"{EXPERIMENT_ID_ENV}={exp_id!r} names no experiment of store {store.path!r}"
            ) from e
    return None


def _experiment_id(store: Store | None = None) -> str:
    """The active experiment: set_experiment's, the environment's, or "0"."""
    if _active_experiment_id is not None:
        return _active_experiment_id
    return _experiment_id_from_env(store or _store()) or "0"


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Makes an experiment active for the runs started next, by name
    (created when missing) or by id, and returns it."""
    global _active_experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidValueError("give exactly one of experiment_name and experiment_id")
    store = _store()
    with _experiment_lock:
        if experiment_name is not None:
            exp = store.get_experiment_by_name(experiment_name)
            if exp is None:
                try:
                    new_id = store.create_experiment(experiment_name)
                except AlreadyExistsError:  # created by another process meanwhile
                    exp = store.get_experiment_by_name(experiment_name)
                else:
                    exp = store.get_experiment(new_id)
        else:
            try:
                exp = store.get_experiment(str(experiment_id))
            except NotFoundError:
                exp = None
            if exp is None:
                raise NotFoundError(f"experiment with id {experiment_id!r} does not exist")
        assert exp is not None
        if exp.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidValueError(
                f"cannot make the deleted experiment {exp.name!r} (id {exp.experiment_id}) "
                "active: restore it, or choose another name"
            )
        _active_experiment_id = exp.experiment_id
        os.environ[EXPERIMENT_ID_ENV] = exp.experiment_id  # inherited by child processes
    return exp


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    """Creates an experiment and returns its id (it does not become active)."""
    return _store().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id; NotFoundError if none."""
    return _store().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment called ``name``, or None."""
    return _store().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    """Marks an experiment and its runs deleted (restorable)."""
    _store().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Restores a deleted experiment."""
    _store().restore_experiment(experiment_id)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """Every experiment matching the filter (at most ``max_results``)."""
    store = _store()
    out: PagedList[Experiment] = PagedList([])  # a list, shown as a table in notebooks
    token: str | None = None
    while max_results is None or len(out) < max_results:
        want = _PAGE if max_results is None else min(_PAGE, max_results - len(out))
        page = store.search_experiments(view_type, want, filter_string, order_by, token)
        out.extend(page)
        token = page.token
        if not token:
            break
    return out


def set_experiment_tag(key: str, value: Any) -> None:
    """Sets a tag of the active experiment."""
    _store().set_experiment_tag(_experiment_id(), key, value)


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    """Sets several tags of the active experiment."""
    store = _store()
    exp_id = _experiment_id(store)
    for key, value in v.str_dict(tags, "experiment tags").items():
        store.set_experiment_tag(exp_id, key, value)


def delete_experiment_tag(key: str) -> None:
    """Deletes a tag of the active experiment."""
    _store().delete_experiment_tag(_experiment_id(), key)


# Runs


def _default_tags() -> dict[str, str]:
    """The tags MLflow puts on a new run: who started it, from what."""
    tags = {"mlflow.source.type": "LOCAL"}
    try:
        tags["mlflow.user"] = getpass.getuser()
    except Exception:  # no user name in this environment
        pass
    main = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if main and main != "-c":
        tags["mlflow.source.name"] = main
    return tags


def _push(store: Store, run_id: str) -> ActiveRun:
    writer = store.writer(run_id)
    active = ActiveRun(store.get_run(run_id), store, writer)
    _runs.stack.append(active)
    _runs.writer = writer
    return active


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Starts a run, or resumes run ``run_id`` (or ``$MLFLOW_RUN_ID``), and
    makes it the active run. Use it in a ``with`` block, or call
    :func:`end_run`. Starting a run while one is active needs
    ``nested=True``; the new run is then the active run's child.

    ``log_system_metrics`` (default: ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``,
    see :func:`enable_system_metrics_logging`) logs CPU, memory, disk,
    network and GPU usage as ``system/...`` metrics while the run is
    active; it needs psutil."""
    if log_system_metrics is None:
        log_system_metrics = _system_metrics.enabled_by_default()
    if log_system_metrics:
        _system_metrics.require_psutil()  # raises before any run is made
    active = _start_run(run_id, experiment_id, run_name, nested, parent_run_id, tags, description)
    rid = active.info.run_id
    try:
        if log_system_metrics:
            _system_metrics.start_monitor(active._store, rid, resume=active._resumed)
        _mlflow_bridge.on_run_started()
    except BaseException:
        end_run("FAILED")
        raise
    return active


def _start_run(
    run_id: str | None,
    experiment_id: str | None,
    run_name: str | None,
    nested: bool,
    parent_run_id: str | None,
    tags: Mapping[str, Any] | None,
    description: str | None,
) -> ActiveRun:
    stack = _runs.stack
    if stack and not nested:
        raise InvalidStateError(
            f"run {stack[0].info.run_id} is already active. To start a new run, end it first "
            "with end_run(); to start a nested run, call start_run(nested=True)"
        )
    if experiment_id is not None and not isinstance(experiment_id, (str, int)):
        raise InvalidValueError(f"experiment_id must be a str, not {type(experiment_id).__name__}")
    exp_id = None if experiment_id is None else str(experiment_id)
    user_tags = v.str_dict(tags, "tags")
    if description is not None:
        if v.NOTE_TAG in user_tags:
            raise InvalidValueError(
                f"the description is set twice: as description and as tag {v.NOTE_TAG}"
            )
        user_tags[v.NOTE_TAG] = v.text(description)
    store = _store()
    resume_id = run_id or os.environ.pop(RUN_ID_ENV, None)
    if resume_id:
        info = store.get_run_info(resume_id)
        if _active_experiment_id is not None and _active_experiment_id != info.experiment_id:
            raise InvalidValueError(
                f"cannot resume run {resume_id}: it belongs to experiment {info.experiment_id}, "
                f"and the active experiment is {_active_experiment_id}"
            )
        if info.lifecycle_stage == LifecycleStage.DELETED:
            raise InvalidStateError(f"cannot resume run {resume_id}: it is deleted")
        store.update_run(resume_id, "RUNNING", None, run_name)
        if user_tags:
            store.set_tags(resume_id, user_tags)
        resumed = _push(store, resume_id)
        resumed._resumed = True
        return resumed

    if parent_run_id is not None:
        if stack and parent_run_id != stack[-1].info.run_id:
            raise InvalidValueError(
                f"parent_run_id {parent_run_id} is not the active run {stack[-1].info.run_id}; "
                "end the active run first"
            )
        if store.get_run_info(parent_run_id).lifecycle_stage == LifecycleStage.DELETED:
            raise InvalidStateError(f"cannot start a run under the deleted run {parent_run_id}")
    elif stack:
        parent_run_id = stack[-1].info.run_id
    all_tags = _default_tags()
    all_tags.update(user_tags)
    if run_name:
        all_tags[v.RUN_NAME_TAG] = run_name
    user_id = all_tags.get("mlflow.user")
    created = store.create_run(
        exp_id if exp_id is not None else _experiment_id(store),
        run_name or None,
        all_tags,
        None,
        user_id,
        parent_run_id,
    )
    return _push(store, created.info.run_id)


def end_run(status: str = "FINISHED") -> None:
    """Ends the active run (if any) with ``status``; its parent, if it
    was nested, becomes the active run again."""
    status = v.status(status)
    stack = _runs.stack
    if not stack:
        return
    os.environ.pop(RUN_ID_ENV, None)
    run = stack.pop()
    _runs.writer = stack[-1]._writer if stack else None
    run_id = run.info.run_id
    _runs.last_run_id = run_id
    try:
        _system_metrics.stop_monitor(run_id)
        _mlflow_bridge.on_run_ending(run_id, status)
    finally:
        try:
            run._writer.close()
        finally:
            run._store.end_run(run_id, status)


def _end_runs_at_exit() -> None:
    while _runs.stack:
        try:
            end_run()
        except Exception:  # the interpreter is exiting: nothing to report to
            pass  # end_run popped the run before failing


atexit.register(_end_runs_at_exit)


def active_run() -> ActiveRun | None:
    """This thread's active run, or None."""
    stack = _runs.stack
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, else the run this thread ended last (as stored
    now), or that MLflow's autologging made last, if it started later."""
    run = active_run()
    if run is not None:
        return run
    store = _store()
    found = []
    for run_id in dict.fromkeys((_runs.last_run_id, _mlflow_bridge.last_mlflow_run_id())):
        if run_id is not None:
            try:
                found.append(store.get_run(run_id))
            except NotFoundError:  # a run of another store
                pass
    return max(found, key=lambda r: r.info.start_time or 0, default=None)


def _get_or_start_run() -> ActiveRun:
    stack = _runs.stack
    return stack[-1] if stack else start_run()


def get_run(run_id: str) -> Run:
    """The run with its params, tags, latest metrics and inputs."""
    return _store_of(run_id).get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The run's parent (from its ``mlflow.parentRunId`` tag), or None."""
    store = _store_of(run_id)
    parent = store.get_run(run_id).data.tags.get(v.PARENT_RUN_TAG)
    return None if parent is None else store.get_run(parent)


def delete_run(run_id: str) -> None:
    """Marks a run deleted (restorable)."""
    _store_of(run_id).delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Restores a deleted run."""
    _store_of(run_id).restore_run(run_id)


# Params, tags, metrics


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Logs a param of the active run (as ``str(value)``) and returns ``value``."""
    run = _get_or_start_run()
    run._store.log_param(run.info.run_id, key, value)
    return value


def log_params(
    params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    """Logs several params of the active run (or of run ``run_id``)."""
    if run_id is None:
        run = _get_or_start_run()
        run._store.log_params(run.info.run_id, params)
    else:
        _store_of(run_id).log_params(run_id, params)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Sets a tag of the active run (as ``str(value)``)."""
    run = _get_or_start_run()
    run._store.set_tag(run.info.run_id, key, value)


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    """Sets several tags of the active run."""
    run = _get_or_start_run()
    run._store.set_tags(run.info.run_id, tags)


def delete_tag(key: str) -> None:
    """Deletes a tag of the active run."""
    run = _get_or_start_run()
    run._store.delete_tag(run.info.run_id, key)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Logs one point of a metric of the active run (started if none is):
    ``step`` defaults to 0, ``timestamp`` to now (ms)."""
    writer = _runs.writer
    if writer is not None and run_id is None and dataset is None:
        try:
            # The hot path: one native call. Anything it refuses as a type
            # (a float step, a str value) is converted or explained below.
            writer.log_metric(key, value, step, timestamp or None)
            return
        except TypeError:
            pass
    _log_metric(key, value, step, timestamp, run_id, dataset)


def _log_metric(
    key: Any, value: Any, step: Any, timestamp: Any, run_id: str | None, dataset: Any
) -> None:
    k = v.key(key, "metric")
    x, st, ts = v.metric_value(k, value), v.step(step), v.timestamp(timestamp)
    if run_id is not None:
        store = _store_of(run_id)
        if dataset is not None:
            store.log_input(run_id, dataset)
        store.log_metric(run_id, k, x, st, ts)
        return
    run = _get_or_start_run()
    if dataset is not None:
        run._store.log_input(run.info.run_id, dataset)
    run._writer.log_metric(k, x, st, ts)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Logs one point of each metric, all at the same step and time."""
    writer = _runs.writer
    if writer is not None and run_id is None and dataset is None:
        try:
            writer.log_metrics(metrics, step, timestamp or None)  # type: ignore[arg-type]
            return
        except TypeError:
            pass
    if not isinstance(metrics, Mapping):
        raise InvalidValueError(f"metrics must be a dict, not {type(metrics).__name__}")
    st, ts = v.step(step), v.timestamp(timestamp)
    converted = {v.key(k, "metric"): v.metric_value(k, x) for k, x in metrics.items()}
    if run_id is not None:
        store = _store_of(run_id)
        if dataset is not None:
            store.log_input(run_id, dataset)
        store.log_metrics(run_id, converted, st, ts)
        return
    run = _get_or_start_run()
    if dataset is not None:
        run._store.log_input(run.info.run_id, dataset)
    run._writer.log_metrics(converted, st, ts)


def flush_async_logging() -> None:
    """Makes the active run's points visible to other processes now
    (logging is synchronous: nothing is pending)."""
    writer = _runs.writer
    if writer is not None:
        writer.flush()


# Datasets


def log_input(
    dataset: Any = None,
    context: str | None = None,
    tags: Mapping[str, Any] | None = None,
    model: Any = None,
) -> None:
    """Records a dataset as an input of the active run: a dict, or an
    object with name, digest, source_type, source (schema, profile)."""
    if dataset is None:
        if context or tags:
            raise InvalidValueError("a dataset is needed when context or tags are given")
        return
    run = _get_or_start_run()
    run._store.log_input(run.info.run_id, dataset, context, tags)


def log_inputs(
    datasets: Sequence[Any] | None = None,
    contexts: Sequence[str | None] | None = None,
    tags_list: Sequence[Mapping[str, Any] | None] | None = None,
    models: Any = None,
) -> None:
    """Records several datasets as inputs of the active run, each with its context and tags."""
    datasets, contexts, tags_list = datasets or [], contexts or [], tags_list or []
    if not len(datasets) == len(contexts) == len(tags_list):
        raise InvalidValueError("datasets, contexts and tags_list must have the same length")
    for ds, context, tags in zip(datasets, contexts, tags_list):
        log_input(ds, context, tags)


# Artifacts


def _run_for(run_id: str | None) -> tuple[Store, str]:
    if run_id is not None:
        return _store_of(run_id), run_id
    run = _get_or_start_run()
    return run._store, run.info.run_id


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copies a file into the active run's artifacts (under ``artifact_path``)."""
    store, rid = _run_for(run_id)
    store.log_artifact(rid, local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copies a folder's contents into the active run's artifacts."""
    store, rid = _run_for(run_id)
    store.log_artifacts(rid, local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Writes ``text`` (UTF-8) as the artifact ``artifact_file`` of the active run."""
    store, rid = _run_for(run_id)
    store.log_text(rid, text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Logs a dict as JSON, or as YAML for .yaml/.yml files (with PyYAML)."""
    store, rid = _run_for(run_id)
    store.log_dict(rid, dictionary, artifact_file)


def log_stream(stream: io.IOBase, artifact_file: str, run_id: str | None = None) -> None:
    """Writes what a binary stream holds as the artifact ``artifact_file``."""
    store, rid = _run_for(run_id)
    store.log_bytes(rid, stream.read(), artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    """Logs a matplotlib or plotly figure; the extension picks the format."""
    store, rid = _run_for(None)
    store.log_figure(rid, figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Logs an image of the active run: a numpy array (HxW, HxWx3 or
    HxWx4; uint8, or floats in [0, 1]) or a PIL image, as the artifact
    ``artifact_file`` (``"sample.png"``), or as step ``step`` of the image
    series ``key``, which MLflow's UI shows by step. A ``.png`` of an array
    needs only numpy; other formats, PIL images and ``key`` need Pillow."""
    store, rid = _run_for(None)
    store.log_image(rid, image, artifact_file, key=key, step=step, timestamp=timestamp)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Logs a table (a dict of columns or a pandas DataFrame) as the JSON
    artifact ``artifact_file``, in MLflow's format (``{"columns": [...],
    "data": [[...], ...]}``), so MLflow's UI shows it; logging again to
    the same file appends rows."""
    store, rid = _run_for(run_id)
    _media.log_table(store, rid, data, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """Where the active run's artifacts (or one of them) are stored."""
    uri = _get_or_start_run().info.artifact_uri or ""
    return uri if artifact_path is None else posixpath.join(uri, artifact_path)


# Search


def search_runs(
    experiment_ids: str | Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = _SEARCH_RUNS_MAX_DEFAULT,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Runs matching an MLflow filter, as a pandas DataFrame (columns
    run_id, experiment_id, status, artifact_uri, start_time, end_time,
    metrics.*, params.*, tags.*) or, with ``output_format="list"``, as Run
    objects. Searches the active experiment unless told otherwise."""
    if output_format not in ("pandas", "list"):
        raise InvalidValueError(
            f"unsupported output_format {output_format!r}: use 'pandas' or 'list'"
        )
    if experiment_ids and experiment_names:
        raise InvalidValueError("give experiment_ids or experiment_names, not both")
    store = _store()
    if experiment_names:
        found = (store.get_experiment_by_name(n) for n in experiment_names if n is not None)
        ids = [e.experiment_id for e in found if e is not None]
    elif experiment_ids:
        ids = [
            str(i)
            for i in ([experiment_ids] if isinstance(experiment_ids, str) else experiment_ids)
        ]
    elif search_all_experiments:
        ids = [e.experiment_id for e in store.list_experiments(ViewType.ACTIVE_ONLY)]
    else:
        ids = [_experiment_id(store)]
    runs: list[Run] = []
    token: str | None = None
    while ids and len(runs) < max_results:
        want = min(_PAGE, max_results - len(runs))
        page = store.search_runs(ids, filter_string, run_view_type, want, order_by, token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return PagedList(runs)  # a list, shown as a table in notebooks
    return runs_to_frame(runs)


def autolog(*args: Any, **kwargs: Any) -> None:
    """MLflow's ``mlflow.autolog`` (same arguments), logging into this
    store: MLflow's tracking URI is set to the store's ``tracklite:`` URI,
    and a run started with :func:`start_run` is MLflow's active run too, so
    ``model.fit(...)`` logs into it. Needs MLflow; without it, raises
    :class:`~tracklite.errors.MlflowNotInstalledError` naming
    ``pip install "tracklite[mlflow]"``."""
    _mlflow_bridge.autolog(*args, **kwargs)
