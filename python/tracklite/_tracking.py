"""Which store the fluent functions and ``MlflowClient()`` use.

In order: the URI given to :func:`set_tracking_uri`; the ``TRACKLITE_STORE``
environment variable; ``MLFLOW_TRACKING_URI``; else the folder
``./tracklite-runs`` in the working directory (:data:`DEFAULT_STORE_DIR`).

A tracking URI is a plain path (``runs``, ``/data/runs``), a
``tracklite:`` URI (``tracklite:./runs``, ``tracklite:///data/runs``), or a
``file:`` URI of a folder. Remote URIs (``http:``, ``databricks``,
``sqlite:``, ...) are refused: tracklite stores runs locally, and
``tracklite export`` pushes them to a server.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ._store import Store
from ._uri import LOCAL_SCHEMES, store_folder
from .errors import InvalidValueError

__all__ = [
    "DEFAULT_STORE_DIR",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "set_tracking_uri",
    "store_path",
]

#: The store used when no tracking URI is set, relative to the working directory.
DEFAULT_STORE_DIR = "tracklite-runs"
STORE_ENV = "TRACKLITE_STORE"
MLFLOW_URI_ENV = "MLFLOW_TRACKING_URI"

_tracking_uri: str | None = None
# The TRACKLITE_STORE value set_tracking_uri wrote, for children to inherit.
_env_written: str | None = None
_stores: dict[str, Store] = {}
_lock = threading.Lock()


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Sets the store of the fluent functions and of new ``MlflowClient()``:
    a path, or a ``tracklite:`` or ``file:`` URI. ``None`` goes back to the
    environment or the default. Child processes inherit it (through
    ``TRACKLITE_STORE``)."""
    global _tracking_uri, _env_written
    if uri is None:
        _tracking_uri = None
        if _env_written is not None and os.environ.get(STORE_ENV) == _env_written:
            del os.environ[STORE_ENV]
        _env_written = None
        return
    if isinstance(uri, os.PathLike):
        uri = os.fspath(uri)
    if not isinstance(uri, str):
        raise InvalidValueError(f"a tracking URI must be a str or a path, not {type(uri).__name__}")
    path = store_path(uri)  # refuses what tracklite cannot open
    _tracking_uri = uri
    _env_written = os.environ[STORE_ENV] = os.path.abspath(path)


def get_tracking_uri() -> str:
    """The tracking URI in use, as given; for the default store, its
    ``tracklite:`` URI."""
    if _tracking_uri is not None:
        return _tracking_uri
    for name in (STORE_ENV, MLFLOW_URI_ENV):
        value = os.environ.get(name)
        if value:
            return value
    return "tracklite:" + Path(os.path.abspath(DEFAULT_STORE_DIR)).as_uri()[len("file:") :]


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was set, here or in the environment."""
    return bool(
        _tracking_uri is not None or os.environ.get(STORE_ENV) or os.environ.get(MLFLOW_URI_ENV)
    )


def _is_mlflow_file_store(path: str) -> bool:
    """An MLflow file store (``mlruns``): numbered experiment folders with
    ``meta.yaml``, and no tracklite index."""
    if not os.path.isdir(path) or os.path.exists(os.path.join(path, "index.sqlite")):
        return False
    try:
        with os.scandir(path) as entries:
            return any(
                e.is_dir()
                and e.name.isdigit()
                and os.path.exists(os.path.join(e.path, "meta.yaml"))
                for e in entries
            )
    except OSError:
        return False


def store_path(uri: str) -> str:
    """The folder a tracking URI names (not yet made absolute): a plain
    path, or a ``tracklite:`` or ``file:`` URI (see :mod:`tracklite._uri`),
    but not an MLflow file store's folder."""
    path = store_folder(uri, LOCAL_SCHEMES, plain_paths=True)
    if _is_mlflow_file_store(path):
        raise InvalidValueError(
            f"{path!r} holds an MLflow file store (mlruns); tracklite does not write into it. "
            "Choose another folder for the tracklite store."
        )
    return path


def open_store(uri: str | None = None) -> Store:
    """The store a tracking URI names (the current one by default), opened
    once per process and folder."""
    folder = os.path.abspath(store_path(uri if uri is not None else get_tracking_uri()))
    store = _stores.get(folder)
    if store is None:
        with _lock:
            store = _stores.get(folder)
            if store is None:
                store = _stores[folder] = Store(folder)
    return store


def _forget_stores() -> None:
    """Drops the open stores (tests use a fresh store each)."""
    global _tracking_uri, _env_written
    with _lock:
        _stores.clear()
    _tracking_uri = _env_written = None
