"""tracklite: an embedded, serverless experiment-tracking store.

Two ways to log:

- the native API, fastest: ``store = tracklite.Store("runs")``, then
  ``with store.start_run(experiment="iris") as run: run.log_metric(...)``;
  metric histories come back as numpy arrays;
- MLflow's fluent functions and ``MlflowClient``, so that
  ``import tracklite as mlflow`` runs common MLflow tracking code unchanged.
  Without a tracking URI the store is ``./tracklite-runs``; see
  :func:`set_tracking_uri` and the ``TRACKLITE_STORE`` variable. The
  store keeps MLflow's model registry too: :func:`register_model` and the
  client's registry methods (``client.set_registered_model_alias``, ...).

In a notebook, runs, experiments, run lists and metric histories show as
HTML tables; :func:`history` gives metric points as a DataFrame and
:func:`plot` draws them (with matplotlib); :func:`log_image` and
:func:`log_table` log images and tables as MLflow does. MLflow's model
flavors (``tracklite.sklearn.log_model``, ...) and :func:`autolog` run
MLflow itself on the same store, when it is installed.

To look at runs in a browser: :func:`show` serves the store to one (in a
notebook, the viewer shows in the cell), as the ``tracklite ui`` command
does.

To share runs with a team's MLflow server: :func:`export` pushes what is
new, :func:`start_sync` keeps pushing in the background while training
runs.

Every error is a :class:`TrackliteError` (also named ``MlflowException``).

The names of runs, one each: :class:`RunHandle` is a run being logged to
through the native API (what ``Store.start_run`` returns); :class:`ActiveRun`
is the run of the fluent functions (what :func:`start_run` returns, as
``mlflow.ActiveRun``); a run read back (``get_run``, ``search_runs``) is a
:class:`tracklite.entities.Run`, as MLflow's is an ``mlflow.entities.Run``.
There is no ``tracklite.Run``, as MLflow has no ``mlflow.Run``, so that
``import tracklite as mlflow`` code means what it means with MLflow.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from . import artifacts, client, data, entities, errors, exceptions, fluent, tracking
from ._export import Syncer, export, start_sync
from ._mlflow_bridge import FLAVORS as _FLAVORS
from ._native import __version__
from ._notebook import history, plot
from ._registry import register_model
from ._store import MetricHistory, RunHandle, Store
from ._system_metrics import (
    disable_system_metrics_logging,
    enable_system_metrics_logging,
    set_system_metrics_node_id,
    set_system_metrics_samples_before_logging,
    set_system_metrics_sampling_interval,
)
from ._tracking import DEFAULT_STORE_DIR
from ._viewer import Viewer, show
from .client import MlflowClient
from .errors import (
    AlreadyExistsError,
    ExportError,
    FormatError,
    InvalidFilterError,
    InvalidStateError,
    InvalidValueError,
    MlflowNotInstalledError,
    NotFoundError,
    ParamChangedError,
    RunDeletedError,
    StoreIOError,
    TrackliteError,
)
from .exceptions import MlflowException
from .fluent import (
    ActiveRun,
    active_run,
    autolog,
    create_experiment,
    delete_experiment,
    delete_experiment_tag,
    delete_run,
    delete_tag,
    end_run,
    flush_async_logging,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_parent_run,
    get_run,
    get_tracking_uri,
    is_tracking_uri_set,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_inputs,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_stream,
    log_table,
    log_text,
    restore_experiment,
    restore_run,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)

__all__ = [
    "DEFAULT_STORE_DIR",
    "ActiveRun",
    "AlreadyExistsError",
    "ExportError",
    "FormatError",
    "InvalidFilterError",
    "InvalidStateError",
    "InvalidValueError",
    "MetricHistory",
    "MlflowClient",
    "MlflowException",
    "MlflowNotInstalledError",
    "NotFoundError",
    "ParamChangedError",
    "RunDeletedError",
    "RunHandle",
    "Store",
    "StoreIOError",
    "Syncer",
    "TrackliteError",
    "Viewer",
    "__version__",
    "active_run",
    "artifacts",
    "autolog",
    "client",
    "create_experiment",
    "data",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "end_run",
    "entities",
    "errors",
    "exceptions",
    "export",
    "flush_async_logging",
    "fluent",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "history",
    "import_mlruns",
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
    "plot",
    "register_model",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_system_metrics_node_id",
    "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval",
    "set_tags",
    "set_tracking_uri",
    "show",
    "start_run",
    "start_sync",
    "tracking",
]


def import_mlruns(
    path: str | os.PathLike[str], store: Store | str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Imports the MLflow file store at ``path`` (an ``mlruns`` folder) into
    ``store``: a :class:`Store`, a store's folder or tracking URI, or by
    default the store of the fluent functions. Returns the report: counts,
    and ``problems``, what was damaged and left out. The folder is only
    read; importing it again skips what the store already has."""
    from . import _tracking

    if isinstance(store, Store):
        return store._native.import_mlruns(os.fspath(path))
    uri = _tracking.get_tracking_uri() if store is None else os.fspath(store)
    folder = os.path.realpath(_tracking.store_path(uri))
    source = os.path.realpath(path)
    if os.path.commonpath([folder, source]) == source:  # checked before the store is made
        raise InvalidValueError(
            f"the store {folder!r} would be inside {source!r}, the import's source"
        )
    return _tracking.open_store(uri)._native.import_mlruns(source)


if not TYPE_CHECKING:  # type checkers report the missing name themselves

    def __getattr__(name: str) -> Any:
        if name in _FLAVORS:  # tracklite.sklearn, ...: MLflow's flavor on this store
            from ._mlflow_bridge import Flavor

            flavor = globals()[name] = Flavor(name)
            return flavor
        if name == "Run":
            raise AttributeError(
                "module 'tracklite' has no attribute 'Run': the handle that "
                "Store.start_run returns is tracklite.RunHandle, and a run read back "
                "is a tracklite.entities.Run (as mlflow.entities.Run)"
            )
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
