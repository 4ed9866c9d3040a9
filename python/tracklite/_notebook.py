"""Metric curves for notebooks: :func:`history` (a DataFrame of the
points of one or several runs and keys) and :func:`plot` (their curves
with matplotlib).

Runs are named by id, by :class:`~tracklite.entities.Run` (what
``get_run`` and ``search_runs(output_format="list")`` return, and the
fluent ``ActiveRun``), by :class:`~tracklite.RunHandle`, or by the
DataFrame ``search_runs`` returns; one of them or a list.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from ._store import MetricHistory, RunHandle, Store
from .entities import Run
from .errors import InvalidValueError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["history", "plot"]

#: What :func:`plot` can put on its x axis.
X_AXES = ("step", "time", "relative")


class _RunRef(NamedTuple):
    run_id: str
    name: str


def _label(run_id: str, name: Any) -> str:
    return str(name) if name else run_id[:8]


def _is_frame(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _frame_refs(frame: Any) -> list[_RunRef]:
    if "run_id" not in frame.columns:
        raise InvalidValueError(
            "a DataFrame of runs needs a run_id column, as search_runs returns; "
            f"this one has {list(frame.columns)[:10]}"
        )
    names_col = "tags.mlflow.runName"
    names = frame[names_col].tolist() if names_col in frame.columns else [None] * len(frame)
    return [_RunRef(str(i), _label(str(i), n)) for i, n in zip(frame["run_id"].tolist(), names)]


def _ref(run: Any, store: Store) -> _RunRef:
    if isinstance(run, str):
        return _RunRef(run, _label(run, store.get_run_info(run).run_name))
    if isinstance(run, Run):
        return _RunRef(run.info.run_id, _label(run.info.run_id, run.info.run_name))
    if isinstance(run, RunHandle):
        return _RunRef(run.run_id, _label(run.run_id, run.info.run_name))
    raise InvalidValueError(
        "runs are given by id (str), Run, RunHandle or a search_runs DataFrame, "
        f"not {type(run).__name__}"
    )


def _refs(runs: Any, store: Store) -> list[_RunRef]:
    if _is_frame(runs):
        return _frame_refs(runs)
    if isinstance(runs, (str, Run, RunHandle)):
        return [_ref(runs, store)]
    if isinstance(runs, Iterable):
        out: list[_RunRef] = []
        for r in runs:
            out.extend(_frame_refs(r) if _is_frame(r) else [_ref(r, store)])
        return out
    return [_ref(runs, store)]


def _keys(keys: str | Iterable[str]) -> list[str]:
    out = [keys] if isinstance(keys, str) else list(keys)
    if not out or not all(isinstance(k, str) for k in out):
        raise InvalidValueError(f"keys must be a metric key or a list of them, not {keys!r}")
    return out


def _store(store: Store | str | os.PathLike[str] | None) -> Store:
    from . import _tracking

    if isinstance(store, Store):
        return store
    return _tracking.open_store(None if store is None else os.fspath(store))


def _histories(
    runs: Any, keys: str | Iterable[str], store: Store | str | os.PathLike[str] | None
) -> list[tuple[_RunRef, str, MetricHistory]]:
    s = _store(store)
    refs = _refs(runs, s)
    if not refs:
        raise InvalidValueError("no runs given")
    return [(ref, key, s.metric_history(ref.run_id, key)) for ref in refs for key in _keys(keys)]


def history(
    runs: Any,
    keys: str | Iterable[str],
    *,
    store: Store | str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Every point of the metrics ``keys`` of ``runs``, as one pandas
    DataFrame with columns ``run_id``, ``run_name``, ``key``, ``step``,
    ``timestamp`` (ms), ``time`` (UTC datetimes) and ``value``.

    ``runs`` is a run id, a Run, a RunHandle, a ``search_runs`` DataFrame,
    or a list of them; ``store`` (a :class:`Store` or its path) defaults
    to the store of the fluent functions. A run without the metric
    contributes no rows.

    >>> tracklite.history(tracklite.search_runs(), "loss")  # doctest: +SKIP
    """
    from ._frame import _import_pandas

    pd = _import_pandas(
        "tracklite.history returns a pandas DataFrame, and pandas is not installed: "
        "pip install pandas (Store.metric_history gives numpy arrays without it)"
    )
    parts = []
    for ref, key, h in _histories(runs, keys, store):
        part = h.to_pandas()
        part.insert(0, "key", key)
        part.insert(0, "run_name", ref.name)
        part.insert(0, "run_id", ref.run_id)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _x_values(h: MetricHistory, x: str) -> Any:
    if x == "step":
        return h.steps
    if x == "relative":
        return (h.timestamps - h.timestamps.min()) / 1000.0 if len(h.timestamps) else h.timestamps
    return h.timestamps.astype("datetime64[ms]")


def plot(
    runs: Any,
    keys: str | Iterable[str],
    x: str = "step",
    ax: Any = None,
    *,
    store: Store | str | os.PathLike[str] | None = None,
    title: str | None = None,
    **plot_kwargs: Any,
) -> Any:
    """Draws the curves of the metrics ``keys`` of ``runs`` with
    matplotlib and returns the Axes.

    ``runs`` is a run id, a Run, a RunHandle, a ``search_runs`` DataFrame,
    or a list of them; curves are labelled by run name (and by key when
    there are several). ``x`` is ``"step"`` (default), ``"time"`` (wall
    clock, UTC) or ``"relative"`` (seconds since the curve's first point).
    ``ax`` is an Axes to draw into (default: a new figure's);
    ``plot_kwargs`` go to ``Axes.plot``. ``store`` (a :class:`Store` or
    its path) defaults to the store of the fluent functions.

    >>> ax = tracklite.plot(tracklite.search_runs(), ["loss", "val_loss"])  # doctest: +SKIP
    """
    if x not in X_AXES:
        raise InvalidValueError(f"x must be one of {list(X_AXES)}, not {x!r}")
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            "tracklite.plot draws with matplotlib, which is not installed: pip install matplotlib"
        ) from e
    curves = _histories(runs, keys, store)
    if ax is None:
        _, ax = plt.subplots()
    several_runs = len({ref.run_id for ref, _, _ in curves}) > 1
    several_keys = len({key for _, key, _ in curves}) > 1
    for ref, key, h in curves:
        if several_runs and several_keys:
            label = f"{ref.name}: {key}"
        else:
            label = ref.name if several_runs or not several_keys else key
        ax.plot(_x_values(h, x), h.values, label=label, **plot_kwargs)
    ax.set_xlabel({"step": "step", "time": "time (UTC)", "relative": "seconds"}[x])
    if not several_keys:
        ax.set_ylabel(curves[0][1])
    if title is not None:
        ax.set_title(title)
    if several_runs or several_keys:
        ax.legend()
    return ax
