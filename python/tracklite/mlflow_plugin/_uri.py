"""Store URIs: which folder a ``tracklite:`` (or, opted in, ``file:``) URI
names, and the ``file://`` URIs of the store's artifact folders."""

from __future__ import annotations

import os
import re
from urllib.parse import quote, unquote, urlsplit

from ._errors import invalid

SCHEME = "tracklite"
# Paths made of these characters need no escaping in a URI.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.~/-]*\Z")


def store_path(uri: str, scheme: str = SCHEME) -> str:
    """The absolute folder of a store URI.

    ``tracklite:./runs`` and ``tracklite:runs`` are relative to the current
    directory; ``tracklite:///abs/path`` and ``tracklite:/abs/path`` are
    absolute (``//localhost/`` is allowed as the authority). Percent
    escapes are decoded.
    """
    parts = urlsplit(uri)
    if parts.scheme != scheme:
        raise invalid(f"not a {scheme}: URI: {uri!r}")
    if parts.query or parts.fragment:
        raise invalid(f"a {scheme}: store URI takes no query or fragment: {uri!r}")
    if parts.netloc not in ("", "localhost"):
        raise invalid(
            f"a {scheme}: store is a local folder; {uri!r} names the host {parts.netloc!r}"
        )
    path = unquote(parts.path)
    if not path:
        raise invalid(f"a {scheme}: URI needs a folder, as in '{scheme}:./runs': {uri!r}")
    return os.path.abspath(os.path.expanduser(path))


def local_uri(location: str) -> str:
    """A location the native store reports, as MLflow wants it: absolute
    paths become ``file://`` URIs; anything else (already a URI) is kept."""
    if location.startswith("/"):
        # What pathlib's as_uri gives, without its cost (called per run).
        return "file://" + (location if _PLAIN_PATH.match(location) else quote(location))
    return location
