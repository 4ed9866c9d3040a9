"""The web viewer from Python: :func:`show` serves a store to a browser
(experiments, the run table, charts, artifacts, the model registry) from
background threads of this process, read-only. In a notebook the returned
:class:`Viewer` renders as the viewer itself, in an iframe.

The same viewer is the ``tracklite ui`` command.
"""

from __future__ import annotations

import html
import os
import sys
import webbrowser
from types import TracebackType

from . import _native
from ._store import Store

__all__ = ["Viewer", "show"]


class Viewer:
    """A running viewer (what :func:`show` returns). ``url`` is its
    address; :meth:`stop` (or leaving a ``with`` block) stops it and frees
    the port. In a notebook it displays as the viewer, in an iframe."""

    def __init__(self, native: _native.Viewer, store: str) -> None:
        self._native = native
        self.store = store
        """The store's directory."""

    @property
    def url(self) -> str:
        """The address to open, such as ``http://127.0.0.1:5080/``."""
        return self._native.url

    @property
    def running(self) -> bool:
        """False once stopped."""
        return self._native.running

    def stop(self) -> None:
        """Stops serving and frees the port; nothing when already stopped."""
        self._native.stop()

    def __enter__(self) -> Viewer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<tracklite.Viewer {self.url} ({state}) of {self.store!r}>"

    def _repr_html_(self) -> str:
        url = html.escape(self.url, quote=True)
        if not self.running:
            return f"<p>tracklite viewer at {url} (stopped)</p>"
        return (
            f'<iframe src="{url}" width="100%" height="640" style="border: 0" '
            f'title="tracklite viewer"></iframe>'
            f'<p><a href="{url}" target="_blank" rel="noopener">Open {url} in a new tab</a></p>'
        )


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where HTML output is rendered)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _store_folder(store: Store | str | os.PathLike[str] | None) -> str:
    from . import _tracking

    if isinstance(store, Store):
        return store.path
    uri = _tracking.get_tracking_uri() if store is None else os.fspath(store)
    return os.path.abspath(_tracking.store_path(uri))


def show(
    store: Store | str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool | None = None,
    allow_remote: bool = False,
) -> Viewer:
    """Serves ``store`` (a :class:`Store`, a folder or tracking URI, or by
    default the store of the fluent functions) to a web browser, read-only,
    from background threads, and returns the running :class:`Viewer`.

    - ``port``: 0 (the default) picks a free port.
    - ``host``: the loopback interface by default. The viewer has no
      authentication: another address exposes the whole store to whoever
      can reach it, so it needs ``allow_remote=True``.
    - ``open_browser``: by default, the system's browser opens the viewer,
      except in a notebook, where the returned viewer renders in an iframe
      (as a cell's last expression, or with ``IPython.display.display``).

    The store must exist. Call :meth:`Viewer.stop`, or use it as a context
    manager, to stop it; it also stops when the process exits.
    """
    folder = _store_folder(store)
    native = _native.Viewer(folder, host=host, port=port, allow_remote=allow_remote)
    viewer = Viewer(native, folder)
    if open_browser is None:
        open_browser = not _in_notebook()
    if open_browser:
        webbrowser.open(viewer.url)
    return viewer
