"""Runs as a pandas DataFrame, with the columns of MLflow's ``search_runs``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .entities import Run

if TYPE_CHECKING:
    import pandas as pd

INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


_SEARCH_RUNS_HINT = (
    "search_runs returns a pandas DataFrame by default, and pandas is not installed: "
    "pip install pandas, or pass output_format='list' for a list of Run objects"
)


def _import_pandas(message: str = _SEARCH_RUNS_HINT) -> Any:
    try:
        import pandas
    except ImportError as e:
        raise ImportError(message) from e
    return pandas


def _times(pd: Any, values: list[int | None]) -> Any:
    """ms since the epoch as UTC datetimes (NaT where missing); a column of
    None when every value is missing, as MLflow builds it."""
    if all(x is None for x in values):
        return values
    return pd.to_datetime(pd.array(values, dtype="Int64"), unit="ms", utc=True)


def runs_to_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: ``run_id``, ``experiment_id``, ``status``,
    ``artifact_uri``, ``start_time``, ``end_time`` (UTC datetimes), then
    ``metrics.<key>`` (NaN where missing), ``params.<key>`` and
    ``tags.<key>`` (None where missing); keys in order of first appearance."""
    pd = _import_pandas()
    data: dict[str, Any] = {name: [] for name in INFO_COLUMNS}
    if not runs:
        return pd.DataFrame(data)
    data["run_id"] = [r.info.run_id for r in runs]
    data["experiment_id"] = [r.info.experiment_id for r in runs]
    data["status"] = [r.info.status for r in runs]
    data["artifact_uri"] = [r.info.artifact_uri for r in runs]
    data["start_time"] = _times(pd, [r.info.start_time for r in runs])
    data["end_time"] = _times(pd, [r.info.end_time for r in runs])
    nan = float("nan")
    for key in dict.fromkeys(k for r in runs for k in r.data.metrics):
        data["metrics." + key] = [r.data.metrics.get(key, nan) for r in runs]
    for key in dict.fromkeys(k for r in runs for k in r.data.params):
        data["params." + key] = [r.data.params.get(key) for r in runs]
    for key in dict.fromkeys(k for r in runs for k in r.data.tags):
        data["tags." + key] = [r.data.tags.get(key) for r in runs]
    return pd.DataFrame(data)


def history_frame(steps: Any, timestamps: Any, values: Any) -> pd.DataFrame:
    """A metric history as a DataFrame: ``step``, ``timestamp`` (ms),
    ``time`` (UTC datetimes) and ``value``."""
    pd = _import_pandas(
        "a metric history as a DataFrame needs pandas, which is not installed: "
        "pip install pandas (the history's numpy arrays need nothing more)"
    )
    return pd.DataFrame(
        {
            "step": steps,
            "timestamp": timestamps,
            "time": pd.to_datetime(timestamps, unit="ms", utc=True),
            "value": values,
        }
    )
