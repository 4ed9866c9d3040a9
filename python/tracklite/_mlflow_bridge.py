"""What needs MLflow itself: autologging and model flavors
(``tracklite.autolog()``, ``tracklite.sklearn.log_model(...)``,
``tracklite.pyfunc.load_model(...)``, ...).

They are MLflow's own functions, run with MLflow's tracking and registry
URIs set to the tracklite store of the fluent functions (``tracklite:``
URIs, served by :mod:`tracklite.mlflow_plugin`), so what they log lands
in the same store. The active runs line up: while the bridge is in use,
a run started with :func:`tracklite.start_run` is MLflow's active run
too (so ``model.fit`` after ``autolog()`` logs into it), and ending it
ends it in MLflow as well. Without MLflow, each of them raises
:class:`~tracklite.errors.MlflowNotInstalledError`.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import threading
from types import ModuleType
from typing import Any

from . import _tracking
from .errors import MlflowNotInstalledError

#: MLflow's model flavors (and model helpers) reachable as ``tracklite.<name>``.
FLAVORS = frozenset(
    {
        "catboost",
        "diviner",
        "h2o",
        "keras",
        "langchain",
        "lightgbm",
        "models",
        "onnx",
        "openai",
        "paddle",
        "pmdarima",
        "prophet",
        "pyfunc",
        "pytorch",
        "sentence_transformers",
        "sklearn",
        "spacy",
        "spark",
        "statsmodels",
        "tensorflow",
        "transformers",
        "xgboost",
    }
)
INSTALL_HINT = 'pip install "tracklite[mlflow]"'

_in_use = False
_lock = threading.Lock()


def in_use() -> bool:
    """Whether MLflow has been set up here (the runs must then line up)."""
    return _in_use


def _import(module: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if e.name is not None and e.name != "mlflow" and not e.name.startswith("mlflow."):
            raise  # MLflow is there; the flavor's own library is missing: MLflow's message
        raise MlflowNotInstalledError(
            f"{what} needs MLflow, which is not installed: {INSTALL_HINT}. tracklite logs "
            "params, metrics, artifacts, images and tables without it."
        ) from e


def store_uri() -> str:
    """The ``tracklite:`` URI of the fluent functions' store."""
    return "tracklite:" + _tracking.open_store().path


def configured(what: str) -> ModuleType:
    """MLflow, pointed at the current tracklite store, with this thread's
    active tracklite run as its active run; ``what`` names the call that
    needs it, for the error without MLflow."""
    global _in_use
    mlflow = _import("mlflow", what)
    uri = store_uri()
    with _lock:
        if mlflow.get_tracking_uri() != uri:
            mlflow.set_tracking_uri(uri)
        if mlflow.get_registry_uri() != uri:
            mlflow.set_registry_uri(uri)
        _in_use = True
    sync_active_run()
    return mlflow


def sync_active_run() -> None:
    """Makes this thread's active tracklite run MLflow's active run too."""
    import mlflow

    from . import fluent

    run = fluent.active_run()
    if run is None:
        return
    current = mlflow.active_run()
    if current is not None and current.info.run_id == run.info.run_id:
        return
    # tracklite logs the run's system metrics itself; MLflow must not too.
    mlflow.start_run(run_id=run.info.run_id, nested=current is not None, log_system_metrics=False)


def on_run_started() -> None:
    """Makes a run tracklite started MLflow's active run too (once the
    bridge is in use), with MLflow pointed at the current store."""
    if _in_use:
        configured("start_run")


def stop_using() -> None:
    """Leaves MLflow alone from now on (until the bridge is used again)."""
    global _in_use
    _in_use = False


def on_run_ending(run_id: str, status: str) -> None:
    """Ends the run in MLflow too, if it is MLflow's active run."""
    if not _in_use:
        return
    import mlflow

    current = mlflow.active_run()
    if current is not None and current.info.run_id == run_id:
        mlflow.end_run(status)


def last_mlflow_run_id() -> str | None:
    """The id of the run MLflow (autologging) started and ended last here."""
    if not _in_use:
        return None
    import mlflow

    run = mlflow.last_active_run()
    return None if run is None else str(run.info.run_id)


def autolog(*args: Any, **kwargs: Any) -> Any:
    """``mlflow.autolog`` on the tracklite store."""
    return configured("autolog").autolog(*args, **kwargs)


class Flavor:
    """``tracklite.<flavor>``: MLflow's ``mlflow.<flavor>`` module, whose
    functions run against the tracklite store (see the module's doc)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<tracklite.{self._name}: MLflow's mlflow.{self._name} on the tracklite store>"

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            # Private names, and what IPython or copy probe for (_repr_html_,
            # __wrapped__, ...): no reason to import MLflow for those.
            raise AttributeError(f"{self!r} has no attribute {attr!r}")
        what = f"tracklite.{self._name}.{attr}"
        configured(what)
        value = getattr(_import(f"mlflow.{self._name}", what), attr)
        if not inspect.isfunction(value):
            return value  # classes (such as pyfunc.PythonModel) and values as they are

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            configured(what)  # the store or the active run may have changed since
            return value(*args, **kwargs)

        return call

    def __dir__(self) -> list[str]:
        try:
            return dir(importlib.import_module(f"mlflow.{self._name}"))
        except ImportError:
            return []
