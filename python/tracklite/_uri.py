"""Which folder a store URI names: the one parser of tracking URIs, used by
the fluent functions (:mod:`tracklite._tracking`) and by the MLflow plugin
(:mod:`tracklite.mlflow_plugin._uri`). It needs neither MLflow nor the
native module.

A store URI is a ``tracklite:`` or ``file:`` URI of a local folder:

- ``tracklite:./runs`` and ``tracklite:runs`` are relative to the current
  directory; ``tracklite:///abs/path`` and ``tracklite:/abs/path`` are
  absolute, and ``//localhost/`` is allowed as the authority;
- percent escapes are decoded; a query or a fragment is refused, as is any
  other host;
- where the caller allows it, a plain path without a scheme (``runs``,
  ``/data/runs``, ``C:\\runs``) is the folder itself.

The folder comes back as written: neither made absolute nor with ``~``
expanded; each caller decides.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import unquote, urlsplit

from .errors import InvalidValueError

__all__ = ["LOCAL_SCHEMES", "store_folder"]

#: The schemes of URIs that name a local folder.
LOCAL_SCHEMES = ("tracklite", "file")

# Tracking URIs MLflow takes without a colon.
_REMOTE_NAMES = ("databricks", "databricks-uc", "uc")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _scheme(uri: str) -> str | None:
    """The URI's scheme, lower case; None for a plain path (a one-letter
    "scheme" is a Windows drive)."""
    m = _SCHEME.match(uri)
    if m is not None and len(m.group(1)) > 1:
        return m.group(1).lower()
    if uri.lower().split("://")[0] in _REMOTE_NAMES:
        return uri.lower()
    return None


def store_folder(
    uri: str, schemes: Collection[str] = LOCAL_SCHEMES, *, plain_paths: bool = True
) -> str:
    """The folder a store URI names, as written.

    ``schemes`` are the schemes accepted; ``plain_paths`` whether a path
    without a scheme is accepted too. Anything else, a remote URI above
    all, raises :class:`~tracklite.errors.InvalidValueError` saying why.
    """
    scheme = _scheme(uri)
    accepted = " or ".join(f"{s}:" for s in schemes)
    if scheme is None and plain_paths:
        path = uri
    elif scheme is None or scheme not in schemes:
        if not plain_paths:
            raise InvalidValueError(f"not a {accepted} URI: {uri!r}")
        raise InvalidValueError(
            f"tracking URI {uri!r} is not a tracklite store: tracklite keeps runs in a local "
            "folder (a path, tracklite:./path or tracklite:///absolute/path). To use a "
            f"{scheme}: store, use MLflow itself; `tracklite export` pushes a store to a server."
        )
    else:
        try:
            parts = urlsplit(uri)
        except ValueError as e:  # such as a broken IPv6 host
            raise InvalidValueError(f"{uri!r} is not a valid URI: {e}") from None
        if parts.query or parts.fragment:
            raise InvalidValueError(f"a {scheme}: store URI takes no query or fragment: {uri!r}")
        if parts.netloc not in ("", "localhost"):
            raise InvalidValueError(
                f"{uri!r} names the host {parts.netloc!r}; a tracklite store is a local "
                "folder: use tracklite:./path or tracklite:///absolute/path"
            )
        path = unquote(parts.path)
    if not path:
        raise InvalidValueError(f"{uri!r} names no folder, as 'tracklite:./runs' does")
    return path
