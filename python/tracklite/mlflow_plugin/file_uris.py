"""The opt-in that serves MLflow's ``file:`` URIs from tracklite stores.

The package registers a builder for the scheme ``file`` (MLflow loads
plugin builders after its own, so a plugin's ``file`` replaces MLflow's
file store). Unless ``TRACKLITE_SERVE_FILE_URIS`` is set to ``1`` (or
``true``/``yes``/``on``), that builder hands every ``file:`` URI straight to
MLflow's own file store, so installing tracklite changes nothing.

When it is set, ``file:///proj/mlruns`` opens the tracklite store
``/proj/mlruns.tracklite`` beside the folder, as tracking store and, for
``file:`` registry URIs (registered under ``mlflow.model_registry_store``
too), as model registry. The first open makes that
store: it imports the MLflow file store's experiments and runs into a
temporary folder next to it, then renames the folder into place, so a
store that exists is always a finished import (two processes that open at
once both import; the first rename wins and the other uses it). The
original folder is only read, never modified. Later opens use the
tracklite store as it is: runs logged to the folder by MLflow's file store
after the import are not imported again.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Any

# No MLflow import at module level: MLflow imports this package while it
# loads its plugins (see __init__).

_log = logging.getLogger(__name__)

#: The environment variable that turns the opt-in on.
ENV = "TRACKLITE_SERVE_FILE_URIS"
#: The suffix of the tracklite store made beside a ``file:`` folder.
SUFFIX = ".tracklite"
_TRUE = ("1", "true", "yes", "on")


def enabled() -> bool:
    """Whether ``file:`` URIs are served by tracklite (``TRACKLITE_SERVE_FILE_URIS``)."""
    return os.environ.get(ENV, "").strip().lower() in _TRUE


def store_folder(mlruns: str) -> str:
    """The tracklite store that stands for an MLflow file-store folder."""
    from ._errors import invalid

    mlruns = os.path.normpath(mlruns)
    if os.path.basename(mlruns) in ("", os.sep):
        raise invalid(f"cannot place a tracklite store beside the folder {mlruns!r}")
    return mlruns + SUFFIX


def _is_store(folder: str) -> bool:
    return os.path.isfile(os.path.join(folder, "index.sqlite"))


def open_for(mlruns: str) -> str:
    """The folder of the tracklite store for ``mlruns``, made (by import)
    when missing."""
    from .. import _native
    from ..errors import TrackliteError
    from ._errors import to_mlflow

    target = store_folder(mlruns)
    if _is_store(target):
        return target
    parent = os.path.dirname(target) or "."
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=os.path.basename(target) + ".importing-", dir=parent)
    try:
        store = _native.Store(os.path.join(staging, "store"))
        if os.path.isdir(mlruns):
            # The importer of MLflow file stores (reads mlruns, writes the store).
            _report(mlruns, target, store.import_mlruns(mlruns))
        store.flush()
        del store
        try:
            os.rename(os.path.join(staging, "store"), target)
        except OSError:
            if not _is_store(target):  # not a lost race: a real failure
                raise
        return target
    except TrackliteError as e:
        raise to_mlflow(e) from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _report(mlruns: str, target: str, report: dict[str, Any]) -> None:
    _log.info(
        "imported the MLflow file store %s into the tracklite store %s: "
        "%s experiments, %s runs, %s metric points, %s artifact files",
        mlruns,
        target,
        report.get("experiments_created"),
        report.get("runs_imported"),
        report.get("metric_points"),
        report.get("artifact_files"),
    )
    problems = report.get("problems") or []
    for problem in problems[:20]:
        _log.warning("left out while importing %s: %s", mlruns, problem)
    if len(problems) > 20:
        _log.warning("... and %d more problems importing %s", len(problems) - 20, mlruns)


def file_store(store_uri: str, artifact_uri: str | None = None, **_: Any) -> Any:
    """The store builder registered for ``file:`` URIs: MLflow's own file
    store, or with the opt-in a :class:`TrackliteStore` beside the folder."""
    if not enabled():
        from mlflow.tracking._tracking_service.utils import _get_file_store

        return _get_file_store(store_uri)
    from ._store import TrackliteStore
    from ._uri import SCHEME, store_path

    folder = open_for(store_path(store_uri, scheme="file"))
    return TrackliteStore(f"{SCHEME}://{_quoted(folder)}", artifact_uri)


def file_registry_store(store_uri: str, tracking_uri: str | None = None, **_: Any) -> Any:
    """The model-registry store builder registered for ``file:`` URIs:
    MLflow's own file registry, or with the opt-in the registry of the
    tracklite store beside the folder."""
    if not enabled():
        from mlflow.tracking._model_registry.utils import _get_file_store

        return _get_file_store(store_uri)
    from ._registry import TrackliteRegistryStore
    from ._uri import SCHEME, store_path

    folder = open_for(store_path(store_uri, scheme="file"))
    return TrackliteRegistryStore(f"{SCHEME}://{_quoted(folder)}", tracking_uri)


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path)
