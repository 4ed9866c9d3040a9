"""Store URIs: which folder a ``tracklite:`` (or, opted in, ``file:``) URI
names, and the ``file://`` URIs of the store's artifact folders."""

from __future__ import annotations

import os
import re
from urllib.parse import quote

from .._uri import store_folder
from ..errors import TrackliteError
from ._errors import to_mlflow

SCHEME = "tracklite"
# Paths made of these characters need no escaping in a URI.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.~/-]*\Z")


def store_path(uri: str, scheme: str = SCHEME) -> str:
    """The absolute folder of a store URI of the scheme ``scheme`` (no
    plain paths), parsed by :func:`tracklite._uri.store_folder`: relative
    folders are relative to the current directory, and ``~`` is expanded.
    A URI that names no local folder raises an ``MlflowException``
    (``INVALID_PARAMETER_VALUE``)."""
    try:
        path = store_folder(uri, (scheme,), plain_paths=False)
    except TrackliteError as e:
        raise to_mlflow(e) from e
    return os.path.abspath(os.path.expanduser(path))


def local_uri(location: str) -> str:
    """A location the native store reports, as MLflow wants it: absolute
    paths become ``file://`` URIs; anything else (already a URI) is kept."""
    if location.startswith("/"):
        # What pathlib's as_uri gives, without its cost (called per run).
        return "file://" + (location if _PLAIN_PATH.match(location) else quote(location))
    return location
