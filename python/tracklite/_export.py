"""Pushing a store to a team's MLflow tracking server: :func:`export` once
(after an offline session, say), or :func:`start_sync` in the background
while training runs, so that the server mirrors the runs as they go.

Both send only what the server does not have yet (the store's export
journal records what it acknowledged; see ``tracklite export --help``), and
read credentials from ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``
or ``MLFLOW_TRACKING_TOKEN``, as MLflow's client does.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections.abc import Iterable
from typing import Any

from . import _native
from ._store import Store
from .errors import ExportError

__all__ = ["Syncer", "export", "start_sync"]


def _store(store: Store | str | os.PathLike[str] | None) -> Store:
    if store is None:
        from . import _tracking

        return _tracking.open_store()
    if isinstance(store, Store):
        return store
    return Store(store)


def _names(values: str | Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    return [str(v) for v in values]


def _raise_failures(summary: dict[str, Any]) -> None:
    failures = list(summary.get("failures", []))
    failures += [{"error": f} for f in summary.get("objects", {}).get("failures", [])]
    if not failures:
        return
    lines = [
        f"  run {f['run_id']} ({f['run_name']}) in {f['experiment']!r}: {f['error']}"
        if "run_id" in f
        else f"  {f['error']}"
        for f in failures
    ]
    error = ExportError(
        f"{len(failures)} item(s) failed to export to {summary['target']}; the rest was "
        "exported (export again to retry):\n" + "\n".join(lines)
    )
    error.summary = summary  # type: ignore[attr-defined]
    raise error


def export(
    to: str,
    *,
    store: Store | str | os.PathLike[str] | None = None,
    experiments: str | Iterable[str] | None = None,
    runs: str | Iterable[str] | None = None,
    dry_run: bool = False,
    connections: int = 4,
) -> dict[str, Any]:
    """Exports the store (the current tracking store by default) to the
    MLflow tracking server at ``to`` (``http(s)://HOST[:PORT]``): the runs
    of ``experiments`` (names) and ``runs`` (ids), or every run.

    Returns the summary (the document ``tracklite export --json`` prints).
    Raises :class:`~tracklite.errors.ExportError` when the export cannot
    run, or when any run failed (the others are exported; the error lists
    each failure and carries the summary as ``.summary``)."""
    native = _store(store)._native
    summary: dict[str, Any] = json.loads(
        native.export(
            to,
            experiments=_names(experiments),
            runs=_names(runs),
            dry_run=dry_run,
            connections=connections,
        )
    )
    _raise_failures(summary)
    return summary


class Syncer:
    """A background export (see :func:`start_sync`). Use it as a context
    manager, or call :meth:`stop`; a syncer still running when the
    interpreter exits is stopped then, with its last pass."""

    def __init__(self, native: _native.Syncer, target: str) -> None:
        self._native = native
        self._lock = threading.Lock()
        self._summary: dict[str, Any] | None = None
        self.target = target

    @property
    def running(self) -> bool:
        """Whether it still exports."""
        return self._native.running

    def progress(self) -> dict[str, Any]:
        """Passes made, passes failed, points sent so far and, while the
        server cannot be reached, why."""
        progress: dict[str, Any] = json.loads(self._native.progress())
        return progress

    def stop(self) -> dict[str, Any]:
        """Makes a last pass (everything logged so far is sent), waits for
        it and returns the summary of the whole sync. Raises
        :class:`~tracklite.errors.ExportError` when the last pass left
        something unexported."""
        with self._lock:
            if self._summary is None:
                self._summary = json.loads(self._native.stop())
                _running.discard(self)
        summary = self._summary
        if summary.get("last_error"):
            raise ExportError(
                f"the last pass to {self.target} could not run: {summary['last_error']}; "
                "export again to finish"
            )
        _raise_failures(summary["last"])
        return summary

    def __enter__(self) -> Syncer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Syncer({self.target!r}, {state})"


# Syncers not stopped yet: held here, so that one started and forgotten
# (`tracklite.start_sync(url)` in a notebook) runs until the exit's last pass.
_running: set[Syncer] = set()


@atexit.register
def _stop_all() -> None:
    for syncer in list(_running):
        try:
            syncer.stop()
        except ExportError as e:
            print(f"tracklite: {e}")


def start_sync(
    to: str,
    *,
    store: Store | str | os.PathLike[str] | None = None,
    interval: float = 5.0,
    experiments: str | Iterable[str] | None = None,
    runs: str | Iterable[str] | None = None,
    connections: int = 4,
) -> Syncer:
    """Starts exporting the store (the current tracking store by default)
    to ``to`` every ``interval`` seconds, in a background thread, until
    :meth:`Syncer.stop` (or the interpreter's exit). New points of running
    runs reach the server while training goes on; a server that is down or
    restarting is retried at each pass, and nothing is sent twice.

    >>> with tracklite.start_sync("http://mlflow.example:5000"):  # doctest: +SKIP
    ...     train()
    """
    native = _store(store)._native
    syncer = Syncer(
        native.start_sync(
            to,
            interval=interval,
            experiments=_names(experiments),
            runs=_names(runs),
            connections=connections,
        ),
        to,
    )
    _running.add(syncer)
    return syncer
